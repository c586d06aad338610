package pipeline

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm"
	"github.com/pypyctl/pypyctl/vm/cffi"
	"github.com/pypyctl/pypyctl/vm/portable"
	"github.com/pypyctl/pypyctl/vm/strip"
)

// PostVM selects the post-translation stages. They run between the VM
// stage and assemble, each taking a VM directory and giving a new one, so
// they apply alike to a translated, a Debian-imported or an upstream VM,
// and assemble, smoke and packaging need no change. The order is fixed:
// cffi modules are rebuilt first (portable must see what they link),
// then bundled, then stripped (strip last, so the debuglinks describe the
// final, RUNPATH-patched files).
type PostVM struct {
	RebuildCFFI bool
	CFFIOnly    []string // build_cffi_imports.py keys: _ssl, sqlite3, lzma, …
	CFFIWithout []string
	Portable    bool
	Strip       bool
}

// debianMissingSources are the cffi modules whose C sources Debian's
// pypy3-lib does not ship (_cffi_ssl's osrandom_engine.c, _blake2's impl/,
// _sha3's kcp/): they cannot be rebuilt from an imported Debian tree and
// keep Debian's builds.
var debianMissingSources = []string{"_blake2", "_sha3", "_ssl"}

// merge adds the matrix's per-target settings to the command line's.
func (p PostVM) merge(rt *platforms.ReleaseTarget) PostVM {
	if rt == nil {
		return p
	}
	if m := rt.Post; m != nil {
		p.RebuildCFFI = p.RebuildCFFI || m.RebuildCFFI
		p.Portable = p.Portable || m.Portable
		p.Strip = p.Strip || m.Strip
		if len(p.CFFIOnly) == 0 {
			p.CFFIOnly = m.CFFIOnly
		}
		p.CFFIWithout = append(append([]string{}, p.CFFIWithout...), m.CFFIWithout...)
	}
	return p
}

// uniqSorted is in sorted, without duplicates and empty names; never nil
// (it goes into store keys, where [] and null differ).
func uniqSorted(in []string) []string {
	out := slices.DeleteFunc(append([]string{}, in...), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// A vmStep makes a post-translation stage from the VM it reads: VM in,
// VM out.
type vmStep func(ctx context.Context, in Output) (Stage, error)

// postVMStages runs the selected steps on the VM in, in PostVM's order,
// each a stage keyed by its input's key and its options.
func (rep *Report) postVMStages(ctx context.Context, o *Options, in Output) (Output, error) {
	rt, _ := o.Release.Target(o.Target.Name)
	p := o.PostVM.merge(rt)
	for _, m := range append(append([]string{}, p.CFFIOnly...), p.CFFIWithout...) {
		if !platforms.IsCFFIModule(m) {
			return Output{}, fmt.Errorf("unknown cffi module %q (known: %s)", m, strings.Join(platforms.CFFIModules, ", "))
		}
	}
	steps := []struct {
		on   bool
		make vmStep
	}{
		{p.RebuildCFFI, func(ctx context.Context, in Output) (Stage, error) { return rep.cffiStage(ctx, o, p, in) }},
		{p.Portable, func(ctx context.Context, in Output) (Stage, error) { return rep.portableStage(ctx, o, in) }},
		{p.Strip, newStripStage},
	}
	for _, step := range steps {
		if !step.on {
			continue
		}
		s, err := step.make(ctx, in)
		if err != nil {
			return Output{}, err
		}
		if in, err = rep.run(ctx, o, s); err != nil {
			return Output{}, err
		}
	}
	return in, nil
}

// cffiStage rebuilds the VM's cffi stdlib modules: in the builder image
// the VM was translated in, else with the host's compiler.
type cffiStage struct {
	in        Output
	opts      cffi.Options
	driver    string // the digest of the driver script that runs the builds
	builder   *builderImage
	toolchain []string // the host's compiler and -dev packages, without a builder image
}

func (rep *Report) cffiStage(ctx context.Context, o *Options, p PostVM, in Output) (Stage, error) {
	meta, err := vm.ReadMetadata(in.Dir)
	if err != nil {
		return nil, err
	}
	without := p.CFFIWithout
	if meta.Origin == "debian" && len(p.CFFIOnly) == 0 {
		without = append(append([]string{}, without...), debianMissingSources...)
	}
	s := &cffiStage{in: in, opts: cffi.Options{Only: uniqSorted(p.CFFIOnly), Without: uniqSorted(without), Logger: o.Logger},
		driver: cffi.DriverDigest(), builder: rep.builder}
	if s.builder != nil {
		s.opts.Image, s.opts.TestModules = s.builder.Root, true
	} else {
		s.toolchain = cffi.Toolchain(ctx)
	}
	return s, nil
}

func (s *cffiStage) Name() string { return "cffi" }

func (s *cffiStage) Key() (store.Key, error) {
	inputs := map[string]any{
		"vm": s.in.Key, "only": s.opts.Only, "without": s.opts.Without, "driver": s.driver,
	}
	if s.builder != nil {
		inputs["image"], inputs["test_modules"] = s.builder.Key, true
	} else {
		inputs["toolchain"] = s.toolchain
	}
	return store.NewKey("vm-cffi", cffi.StageVersion, inputs)
}

func (s *cffiStage) Run(ctx context.Context, dir string) error {
	_, err := cffi.Rebuild(ctx, s.in.Dir, dir, s.opts)
	return err
}

// portableStage bundles the libraries the VM links that a target system
// may lack, as the plan made from the VM says.
type portableStage struct {
	in      Output
	plan    *portable.Plan
	builder *builderImage
}

func (rep *Report) portableStage(ctx context.Context, o *Options, in Output) (Stage, error) {
	meta, err := vm.ReadMetadata(in.Dir)
	if err != nil {
		return nil, err
	}
	root := ""
	var only []string
	if rep.builder != nil {
		// The image's libraries, whatever the host's arch, and the
		// set the release's make_portable.py bundles.
		root, only = rep.builder.Root, rep.builder.Bundle
	} else if meta.Arch != hostArch() {
		return nil, fmt.Errorf("--portable bundles this host's libraries: it cannot bundle for %s on %s", meta.Arch, hostArch())
	}
	plan, err := portable.DiscoverIn(root, vm.TreeDir(in.Dir), portable.DefaultDirs(meta.Triplet), only)
	if err != nil {
		return nil, err
	}
	if o.Release.Major() == "2" {
		plan.Python2TclTk()
	}
	plan.Annotate(ctx, portable.DpkgPackager)
	return &portableStage{in: in, plan: plan, builder: rep.builder}, nil
}

func (s *portableStage) Name() string { return "portable" }

func (s *portableStage) Key() (store.Key, error) {
	inputs := map[string]any{"vm": s.in.Key, "plan": s.plan}
	if s.builder != nil {
		inputs["image"] = s.builder.Key
	}
	return store.NewKey("vm-portable", portable.StageVersion, inputs)
}

func (s *portableStage) Run(ctx context.Context, dir string) error {
	return portable.Apply(ctx, s.in.Dir, dir, s.plan)
}

// stripStage strips the VM's ELF files, keeping the debug info aside.
type stripStage struct {
	in       Output
	binutils string
}

func newStripStage(ctx context.Context, in Output) (Stage, error) {
	return &stripStage{in: in, binutils: binutilsVersion(ctx)}, nil
}

func (s *stripStage) Name() string { return "strip" }

func (s *stripStage) Key() (store.Key, error) {
	return store.NewKey("vm-strip", strip.StageVersion, map[string]any{"vm": s.in.Key, "binutils": s.binutils})
}

func (s *stripStage) Run(ctx context.Context, dir string) error {
	_, err := strip.Strip(ctx, s.in.Dir, dir)
	return err
}

// binutilsVersion names the strip in use, for the strip stage's key.
func binutilsVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "strip", "--version").Output()
	if err != nil {
		return ""
	}
	return strings.SplitN(string(out), "\n", 2)[0]
}
