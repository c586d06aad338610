package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pypyctl/pypyctl/assemble"
	"github.com/pypyctl/pypyctl/ensurepip"
	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/smoke"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm"
	"github.com/pypyctl/pypyctl/vm/debian"
	"github.com/pypyctl/pypyctl/vm/upstream"
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
	var vmDir, wheelDir string
	var vmKey, wheelKey store.Key
	var err error
	switch {
	case o.VMArchive != "":
		vmDir, vmKey, err = rep.upstreamStage(ctx, &o, o.VMArchive, o.VMArchiveSHA256)
	case r.VM == "debian":
		vmDir, vmKey, wheelDir, wheelKey, err = rep.debianStages(ctx, &o)
	case r.VM == "upstream":
		vmDir, vmKey, err = rep.upstreamFromMatrix(ctx, &o)
	case r.VM == "translate":
		vmDir, vmKey, err = rep.translatedStage(ctx, &o)
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
	if vmDir, vmKey, err = rep.postVMStages(ctx, &o, vmDir, vmKey); err != nil {
		return nil, err
	}
	if fromSource {
		// The wheels are the ones the source bundles, checked against
		// the pins; the VM's key already covers them.
		wheelDir = filepath.Join(vm.TreeDir(vmDir), filepath.FromSlash(r.StdlibDir()), filepath.FromSlash(ensurepip.BundledDir))
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
	meta, err := vm.ReadMetadata(vmDir)
	if err != nil {
		return nil, err
	}
	rep.VM = meta
	treeKey, err := store.NewKey("assemble", assemble.StageVersion, map[string]any{
		"vm": vmKey, "wheels": wheelKey, "release": r.Name, "target": t.Name, "base": r.ArchiveBase(t),
	})
	if err != nil {
		return nil, err
	}
	treeStore, err := rep.stage(ctx, &o, "assemble", treeKey, func(ctx context.Context, dir string) error {
		_, err := assemble.Assemble(ctx, assemble.Input{VMDir: vmDir, Wheels: wheels, Release: r, Target: t}, dir)
		return err
	})
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(treeStore, r.ArchiveBase(t))
	rep.Tree = tree
	if !o.NoSmoke {
		if rep.Smoke, err = rep.smokeStage(ctx, &o, tree, treeKey, meta); err != nil {
			return nil, err
		}
	}
	res := &TreeResult{Report: rep, Dir: tree, Key: treeKey, VMDir: vmDir, VMKey: vmKey, Inputs: meta.Inputs, Wheels: wheels}
	for _, w := range r.Ensurepip {
		res.Inputs = append(res.Inputs, vm.Input{Name: w.FileName(), Version: w.Version, SHA256: w.SHA256})
	}
	return res, nil
}

// debianStages fetches and verifies the pinned .debs, then imports the VM
// and extracts the wheels, each as a store stage.
func (rep *Report) debianStages(ctx context.Context, o *Options) (vmDir string, vmKey store.Key, wheelDir string, wheelKey store.Key, err error) {
	r, t := o.Release, o.Target
	if t.DebianArch == "" {
		return "", "", "", "", fmt.Errorf("target %s has no debian_arch: it cannot be imported from Debian", t.Name)
	}
	pins := r.DebPackages(t.DebianArch)
	f := &debian.Fetcher{CacheDir: filepath.Join(o.Dirs.Downloads(), "debian"), Log: o.Log}
	paths, err := f.Fetch(ctx, pins)
	if err != nil {
		return "", "", "", "", err
	}
	var vmPkgs, wheelPkgs []debian.Package
	for i, p := range pins {
		pkg := debian.Package{Pin: p, Path: paths[i]}
		if pkg.IsWheel() {
			wheelPkgs = append(wheelPkgs, pkg)
		} else {
			vmPkgs = append(vmPkgs, pkg)
		}
	}
	vmKey, err = store.NewKey("vm-debian", debian.StageVersion, map[string]any{
		"packages": pinsOf(vmPkgs), "triplet": t.Triplet, "arch": t.Arch,
		"pypy": r.PyPyVersion, "python": r.PythonVersion,
	})
	if err != nil {
		return
	}
	vmDir, err = rep.stage(ctx, o, "vm", vmKey, func(ctx context.Context, dir string) error {
		return debian.Import(ctx, vmPkgs, r, t, dir)
	})
	if err != nil {
		return
	}
	wheelKey, err = store.NewKey("ensurepip", debian.WheelsStageVersion, map[string]any{"packages": pinsOf(wheelPkgs), "wheels": r.Ensurepip})
	if err != nil {
		return
	}
	wheelDir, err = rep.stage(ctx, o, "ensurepip", wheelKey, func(ctx context.Context, dir string) error {
		for _, p := range wheelPkgs {
			if err := debian.ExtractWheels(p.Path, dir); err != nil {
				return err
			}
		}
		_, err := ensurepip.Verify(dir, r.Ensurepip)
		return err
	})
	return
}

func pinsOf(pkgs []debian.Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Pin.Name + "=" + p.Pin.Version + ":" + p.Pin.Arch + "@" + p.Pin.SHA256
	}
	sort.Strings(out)
	return out
}

// smokeStage runs the smoke test once per tree; the report is stored so a
// rebuild of the same tree does not run it again.
func (rep *Report) smokeStage(ctx context.Context, o *Options, tree string, treeKey store.Key, meta *vm.Metadata) (*smoke.Report, error) {
	key, err := store.NewKey("smoke", smoke.StageVersion, map[string]any{"tree": treeKey})
	if err != nil {
		return nil, err
	}
	dir, err := rep.stage(ctx, o, "smoke", key, func(ctx context.Context, dir string) error {
		opts := smoke.Options{Tree: tree, Meta: meta}
		if meta.Arch != hostArch() {
			pkgs, err := debrepo.PackageNames(meta.RuntimeDepends)
			if err != nil {
				return err
			}
			sysroot, err := smoke.EnsureSysroot(ctx, o.Dirs.Cache, o.Target.DebianArch, pkgs, o.Log)
			if err != nil {
				return err
			}
			if opts.Emulator, err = smoke.Emulator(o.Target.DebianArch, sysroot); err != nil {
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
		return fsutil.WriteFileAtomic(filepath.Join(dir, "smoke.json"), b, 0o644)
	})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "smoke.json"))
	if err != nil {
		return nil, err
	}
	var sr smoke.Report
	return &sr, json.Unmarshal(b, &sr)
}

// upstreamFromMatrix imports the target's pinned upstream archive, found
// by file name in <cache>/downloads/upstream/.
func (rep *Report) upstreamFromMatrix(ctx context.Context, o *Options) (string, store.Key, error) {
	rt, _ := o.Release.Target(o.Target.Name)
	if rt.Upstream == nil {
		return "", "", fmt.Errorf("release %s (vm: upstream) pins no upstream archive for %s", o.Release.Name, o.Target.Name)
	}
	name := rt.Upstream.File
	if name == "" {
		name = filepath.Base(rt.Upstream.URL)
	}
	path := filepath.Join(o.Dirs.Downloads(), "upstream", name)
	if _, err := os.Stat(path); err != nil {
		return "", "", fmt.Errorf("upstream archive %s is not in %s: download it there (or pass --vm-archive PATH)", name, filepath.Dir(path))
	}
	return rep.upstreamStage(ctx, o, path, rt.Upstream.SHA256)
}

// upstreamStage imports an upstream-layout archive as the VM. The pin is
// the one given, else the matrix's pin for this target when the file
// name matches it; an archive with no pin at all is refused.
func (rep *Report) upstreamStage(ctx context.Context, o *Options, path, sha string) (string, store.Key, error) {
	if sha == "" {
		if rt, _ := o.Release.Target(o.Target.Name); rt.Upstream != nil && filepath.Base(path) == rt.Upstream.File {
			sha = rt.Upstream.SHA256
		}
	}
	if sha == "" {
		return "", "", fmt.Errorf("--vm-archive %s: no sha256 pin (pass --vm-archive-sha256, or pin it in the matrix as the target's upstream input)", path)
	}
	key, err := store.NewKey("vm-upstream", upstream.StageVersion, map[string]any{
		"archive": sha, "triplet": o.Target.Triplet, "arch": o.Target.Arch,
		"pypy": o.Release.PyPyVersion, "python": o.Release.PythonVersion,
	})
	if err != nil {
		return "", "", err
	}
	dir, err := rep.stage(ctx, o, "vm", key, func(ctx context.Context, dir string) error {
		return upstream.Import(ctx, path, sha, o.Release, o.Target, dir)
	})
	return dir, key, err
}
