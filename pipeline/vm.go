package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pypyctl/pypyctl/ensurepip"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm/debian"
	"github.com/pypyctl/pypyctl/vm/upstream"
)

// importDebian fetches and verifies the pinned .debs, then imports the VM
// and extracts the wheels, each as a stage.
func (rep *Report) importDebian(ctx context.Context, o *Options) (vmOut, wheelOut Output, err error) {
	r, t := o.Release, o.Target
	if t.DebianArch == "" {
		return Output{}, Output{}, fmt.Errorf("target %s has no debian_arch: it cannot be imported from Debian", t.Name)
	}
	pins := r.DebPackages(t.DebianArch)
	f := &debian.Fetcher{CacheDir: filepath.Join(o.Dirs.Downloads(), "debian"), Logger: o.Logger}
	paths, err := f.Fetch(ctx, pins)
	if err != nil {
		return Output{}, Output{}, err
	}
	vs := &vmDebianStage{vmFor: vmFor{r, t}}
	ws := &ensurepipStage{wheels: r.Ensurepip}
	for i, p := range pins {
		pkg := debian.Package{Pin: p, Path: paths[i]}
		if pkg.IsWheel() {
			ws.packages = append(ws.packages, pkg)
		} else {
			vs.packages = append(vs.packages, pkg)
		}
	}
	if vmOut, err = rep.run(ctx, o, vs); err != nil {
		return Output{}, Output{}, err
	}
	if wheelOut, err = rep.run(ctx, o, ws); err != nil {
		return Output{}, Output{}, err
	}
	return vmOut, wheelOut, nil
}

// vmFor is what the import stages share: the release and target the VM
// is for, named in their keys.
type vmFor struct {
	release *platforms.Release
	target  *platforms.Target
}

func (vmFor) Name() string { return "vm" }

// key is an import's key: its own inputs plus the target's triplet and
// arch and the release's versions.
func (v vmFor) key(stage string, version int, inputs map[string]any) (store.Key, error) {
	inputs["triplet"], inputs["arch"] = v.target.Triplet, v.target.Arch
	inputs["pypy"], inputs["python"] = v.release.PyPyVersion, v.release.PythonVersion
	return store.NewKey(stage, version, inputs)
}

// vmDebianStage imports the VM from Debian's pypy3 packages.
type vmDebianStage struct {
	vmFor
	packages []debian.Package
}

func (s *vmDebianStage) Key() (store.Key, error) {
	return s.key("vm-debian", debian.StageVersion, map[string]any{"packages": pinsOf(s.packages)})
}

func (s *vmDebianStage) Run(ctx context.Context, dir string) error {
	return debian.Import(ctx, s.packages, s.release, s.target, dir)
}

// ensurepipStage takes the pinned ensurepip wheels out of Debian's
// python3-*-whl packages.
type ensurepipStage struct {
	packages []debian.Package
	wheels   []platforms.Wheel
}

func (s *ensurepipStage) Name() string { return "ensurepip" }

func (s *ensurepipStage) Key() (store.Key, error) {
	return store.NewKey("ensurepip", debian.WheelsStageVersion, map[string]any{"packages": pinsOf(s.packages), "wheels": s.wheels})
}

func (s *ensurepipStage) Run(ctx context.Context, dir string) error {
	for _, p := range s.packages {
		if err := debian.ExtractWheels(p.Path, dir); err != nil {
			return err
		}
	}
	_, err := ensurepip.Verify(dir, s.wheels)
	return err
}

func pinsOf(pkgs []debian.Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Pin.Name + "=" + p.Pin.Version + ":" + p.Pin.Arch + "@" + p.Pin.SHA256
	}
	sort.Strings(out)
	return out
}

// upstreamFromMatrix imports the target's pinned upstream archive, found
// by file name in <cache>/downloads/upstream/.
func (rep *Report) upstreamFromMatrix(ctx context.Context, o *Options) (Output, error) {
	rt, _ := o.Release.Target(o.Target.Name)
	if rt.Upstream == nil {
		return Output{}, fmt.Errorf("release %s (vm: upstream) pins no upstream archive for %s", o.Release.Name, o.Target.Name)
	}
	name := rt.Upstream.File
	if name == "" {
		name = filepath.Base(rt.Upstream.URL)
	}
	path := filepath.Join(o.Dirs.Downloads(), "upstream", name)
	if _, err := os.Stat(path); err != nil {
		return Output{}, fmt.Errorf("upstream archive %s is not in %s: download it there (or pass --vm-archive PATH)", name, filepath.Dir(path))
	}
	return rep.importUpstream(ctx, o, path, rt.Upstream.SHA256)
}

// importUpstream imports an upstream-layout archive as the VM. The pin is
// the one given, else the matrix's pin for this target when the file
// name matches it; an archive with no pin at all is refused.
func (rep *Report) importUpstream(ctx context.Context, o *Options, path, sha string) (Output, error) {
	if sha == "" {
		if rt, _ := o.Release.Target(o.Target.Name); rt.Upstream != nil && filepath.Base(path) == rt.Upstream.File {
			sha = rt.Upstream.SHA256
		}
	}
	if sha == "" {
		return Output{}, fmt.Errorf("--vm-archive %s: no sha256 pin (pass --vm-archive-sha256, or pin it in the matrix as the target's upstream input)", path)
	}
	return rep.run(ctx, o, &vmUpstreamStage{vmFor: vmFor{o.Release, o.Target}, archive: path, sha256: sha})
}

// vmUpstreamStage imports the VM from an upstream-layout archive.
type vmUpstreamStage struct {
	vmFor
	archive, sha256 string
}

func (s *vmUpstreamStage) Key() (store.Key, error) {
	return s.key("vm-upstream", upstream.StageVersion, map[string]any{"archive": s.sha256})
}

func (s *vmUpstreamStage) Run(ctx context.Context, dir string) error {
	return upstream.Import(ctx, s.archive, s.sha256, s.release, s.target, dir)
}
