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

// postVMStages runs the selected stages on the VM in vmDir, each a store
// stage keyed by its input's key and its options.
func (rep *Report) postVMStages(ctx context.Context, o *Options, vmDir string, vmKey store.Key) (string, store.Key, error) {
	rt, _ := o.Release.Target(o.Target.Name)
	p := o.PostVM.merge(rt)
	for _, m := range append(append([]string{}, p.CFFIOnly...), p.CFFIWithout...) {
		if !platforms.IsCFFIModule(m) {
			return "", "", fmt.Errorf("unknown cffi module %q (known: %s)", m, strings.Join(platforms.CFFIModules, ", "))
		}
	}
	if p.RebuildCFFI {
		meta, err := vm.ReadMetadata(vmDir)
		if err != nil {
			return "", "", err
		}
		without := p.CFFIWithout
		if meta.Origin == "debian" && len(p.CFFIOnly) == 0 {
			without = append(append([]string{}, without...), debianMissingSources...)
		}
		co := cffi.Options{Only: uniqSorted(p.CFFIOnly), Without: uniqSorted(without), Log: o.Log}
		inputs := map[string]any{
			"vm": vmKey, "only": co.Only, "without": co.Without, "driver": cffi.DriverDigest(),
		}
		if rep.builder != nil {
			co.Image, inputs["image"] = rep.builder.Root, rep.builder.Key
			co.TestModules, inputs["test_modules"] = true, true
		} else {
			inputs["toolchain"] = cffi.Toolchain(ctx)
		}
		key, err := store.NewKey("vm-cffi", cffi.StageVersion, inputs)
		if err != nil {
			return "", "", err
		}
		in := vmDir
		if vmDir, err = rep.stage(ctx, o, "cffi", key, func(ctx context.Context, dir string) error {
			_, err := cffi.Rebuild(ctx, in, dir, co)
			return err
		}); err != nil {
			return "", "", err
		}
		vmKey = key
	}
	if p.Portable {
		meta, err := vm.ReadMetadata(vmDir)
		if err != nil {
			return "", "", err
		}
		root, inputs := "", map[string]any{"vm": vmKey}
		var only []string
		if rep.builder != nil {
			// The image's libraries, whatever the host's arch, and the
			// set upstream bundles.
			root, inputs["image"], only = rep.builder.Root, rep.builder.Key, portable.UpstreamBundle
		} else if meta.Arch != hostArch() {
			return "", "", fmt.Errorf("--portable bundles this host's libraries: it cannot bundle for %s on %s", meta.Arch, hostArch())
		}
		plan, err := portable.DiscoverIn(root, vm.TreeDir(vmDir), portable.DefaultDirs(meta.Triplet), only)
		if err != nil {
			return "", "", err
		}
		plan.Annotate(ctx, portable.DpkgPackager)
		inputs["plan"] = plan
		key, err := store.NewKey("vm-portable", portable.StageVersion, inputs)
		if err != nil {
			return "", "", err
		}
		in := vmDir
		if vmDir, err = rep.stage(ctx, o, "portable", key, func(ctx context.Context, dir string) error {
			return portable.Apply(ctx, in, dir, plan)
		}); err != nil {
			return "", "", err
		}
		vmKey = key
	}
	if p.Strip {
		key, err := store.NewKey("vm-strip", strip.StageVersion, map[string]any{"vm": vmKey, "binutils": binutilsVersion(ctx)})
		if err != nil {
			return "", "", err
		}
		in := vmDir
		if vmDir, err = rep.stage(ctx, o, "strip", key, func(ctx context.Context, dir string) error {
			_, err := strip.Strip(ctx, in, dir)
			return err
		}); err != nil {
			return "", "", err
		}
		vmKey = key
	}
	return vmDir, vmKey, nil
}

// binutilsVersion names the strip in use, for the strip stage's key.
func binutilsVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "strip", "--version").Output()
	if err != nil {
		return ""
	}
	return strings.SplitN(string(out), "\n", 2)[0]
}
