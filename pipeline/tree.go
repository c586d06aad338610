package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/assemble"
	"github.com/pypyctl/pypyctl/ensurepip"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/smoke"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm"
)

// TreeResult is an assembled release tree in the store.
type TreeResult struct {
	Report *Report
	Dir    string    // the tree's root (…/pypy3.9-v7.3.11-linux64)
	Key    store.Key // the assemble stage's key
	VMDir  string
	VMKey  store.Key  // the last VM stage's key (post-translation stages included)
	Inputs []vm.Input // every pinned input (debs, wheels)
	Wheels []string   // the ensurepip wheels placed in the tree
}

// Tree runs the stages up to an assembled, smoke-tested tree. Packaging
// commands (deb, oci) start from here.
func Tree(ctx context.Context, o Options) (*TreeResult, error) {
	r, t := o.Release, o.Target
	if _, ok := r.Target(t.Name); !ok {
		return nil, fmt.Errorf("release %s does not ship target %s", r.Name, t.Name)
	}
	rep := &Report{Release: r.Name, Target: t.Name}
	var vmOut, wheelOut Output
	var err error
	switch {
	case o.VMArchive != "":
		vmOut, err = rep.importUpstream(ctx, &o, o.VMArchive, o.VMArchiveSHA256)
	case r.VM == "debian":
		vmOut, wheelOut, err = rep.importDebian(ctx, &o)
	case r.VM == "upstream":
		vmOut, err = rep.upstreamFromMatrix(ctx, &o)
	case r.VM == "translate":
		vmOut, err = rep.translated(ctx, &o)
	default:
		err = fmt.Errorf("release %s: vm %q: building it needs `pypyctl translate --target %s --release %s` on a host with Python 2.7, or an already-translated VM given with --vm-archive", r.Name, r.VM, t.Name, r.Name)
	}
	if err != nil {
		return nil, err
	}
	fromSource := r.VM == "translate" && o.VMArchive == ""
	if fromSource {
		// A translated VM is only a release once its cffi modules are
		// built, the libraries it links are bundled (the builder image's,
		// which other systems lack: libffi.so.7 on bookworm) and its
		// debug info is kept aside, as upstream's package.py does.
		o.PostVM.RebuildCFFI, o.PostVM.Portable, o.PostVM.Strip = true, true, true
	}
	if vmOut, err = rep.postVMStages(ctx, &o, vmOut); err != nil {
		return nil, err
	}
	wheelDir := wheelOut.Dir
	if fromSource {
		// The wheels are the ones the source bundles, checked against
		// the pins; the VM's key already covers them.
		wheelDir = filepath.Join(vm.TreeDir(vmOut.Dir), filepath.FromSlash(r.StdlibDir()), filepath.FromSlash(ensurepip.BundledDir))
		if err := ensurepip.Exactly(wheelDir, r.Ensurepip); err != nil {
			return nil, fmt.Errorf("release %s: %w", r.Name, err)
		}
	}
	// Without pinned wheels the VM keeps the wheels it bundles itself.
	var wheels []string
	if len(r.Ensurepip) > 0 {
		if wheelDir == "" {
			return nil, fmt.Errorf("release %s pins ensurepip wheels, but only Debian-imported releases can fetch them so far", r.Name)
		}
		if wheels, err = ensurepip.Verify(wheelDir, r.Ensurepip); err != nil {
			return nil, err
		}
	}
	meta, err := vm.ReadMetadata(vmOut.Dir)
	if err != nil {
		return nil, err
	}
	rep.VM = meta
	treeOut, err := rep.run(ctx, &o, &assembleStage{vm: vmOut, wheelKey: wheelOut.Key, wheels: wheels, release: r, target: t})
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(treeOut.Dir, r.ArchiveBase(t))
	rep.Tree = tree
	if !o.NoSmoke {
		if rep.Smoke, err = rep.smoke(ctx, &o, tree, treeOut.Key, meta); err != nil {
			return nil, err
		}
	}
	res := &TreeResult{Report: rep, Dir: tree, Key: treeOut.Key, VMDir: vmOut.Dir, VMKey: vmOut.Key, Inputs: meta.Inputs, Wheels: wheels}
	for _, w := range r.Ensurepip {
		res.Inputs = append(res.Inputs, vm.Input{Name: w.FileName(), Version: w.Version, SHA256: w.SHA256})
	}
	return res, nil
}

// assembleStage lays out the release tree from the VM and the wheels.
type assembleStage struct {
	vm       Output
	wheelKey store.Key // the ensurepip stage's, if the wheels came from one
	wheels   []string
	release  *platforms.Release
	target   *platforms.Target
}

func (s *assembleStage) Name() string { return "assemble" }

func (s *assembleStage) Key() (store.Key, error) {
	r, t := s.release, s.target
	return store.NewKey("assemble", assemble.StageVersion, map[string]any{
		"vm": s.vm.Key, "wheels": s.wheelKey, "release": r.Name, "target": t.Name, "base": r.ArchiveBase(t),
	})
}

func (s *assembleStage) Run(ctx context.Context, dir string) error {
	_, err := assemble.Assemble(ctx, assemble.Input{VMDir: s.vm.Dir, Wheels: s.wheels, Release: s.release, Target: s.target}, dir)
	return err
}

// smokeStage runs the smoke test once per tree; the report is stored so a
// rebuild of the same tree does not run it again.
type smokeStage struct {
	tree    string
	treeKey store.Key
	meta    *vm.Metadata
	// A foreign arch runs under qemu-user with a Debian sysroot of
	// debianArch, cached under cache.
	cache, debianArch string
	log               *slog.Logger
}

// smokeReport is the smoke stage's output file.
const smokeReport = "smoke.json"

func (s *smokeStage) Name() string { return "smoke" }

func (s *smokeStage) Key() (store.Key, error) {
	return store.NewKey("smoke", smoke.StageVersion, map[string]any{"tree": s.treeKey})
}

func (s *smokeStage) Run(ctx context.Context, dir string) error {
	opts := smoke.Options{Tree: s.tree, Meta: s.meta}
	if s.meta.Arch != hostArch() {
		var err error
		if opts.Emulator, err = smoke.EmulatorFor(ctx, s.cache, s.debianArch, s.meta.RuntimeDepends, s.log); err != nil {
			return err
		}
	}
	sr, err := smoke.Run(ctx, opts)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(sr, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, smokeReport), b, 0o644)
}

// smoke runs (or finds) the smoke stage of a tree and reads its report.
func (rep *Report) smoke(ctx context.Context, o *Options, tree string, treeKey store.Key, meta *vm.Metadata) (*smoke.Report, error) {
	out, err := rep.run(ctx, o, &smokeStage{tree: tree, treeKey: treeKey, meta: meta,
		cache: o.Dirs.Cache, debianArch: o.Target.DebianArch, log: o.log()})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(out.Dir, smokeReport))
	if err != nil {
		return nil, err
	}
	var sr smoke.Report
	return &sr, json.Unmarshal(b, &sr)
}
