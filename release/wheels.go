package release

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/smoke"
	"github.com/pypyctl/pypyctl/wheels"
)

// BuiltWheel is a wheel of the matrix's wheels: section, built with the
// release's own PyPy and published beside its archives.
type BuiltWheel struct {
	wheels.ReleaseWheel
	release string
}

// releaseWheels builds every release's wheels into dist with the trees the
// builds left in the store (a merge job pulls them from a shared store).
func releaseWheels(ctx context.Context, o *Options, jobs []Job, dist string) ([]BuiltWheel, error) {
	base := "."
	if o.Matrix.Path != platforms.EmbeddedName {
		base = filepath.Dir(o.Matrix.Path)
	}
	trees := o.trees()
	var out []BuiltWheel
	for _, name := range releasesOf(jobs) {
		r, err := o.Matrix.Release(name)
		if err != nil {
			return nil, err
		}
		if len(r.Wheels) == 0 {
			continue
		}
		var only []string
		for _, j := range jobs {
			if j.Release.Name == name {
				only = append(only, j.Target.Name)
			}
		}
		ws, err := wheels.BuildRelease(ctx, wheels.ReleaseOptions{
			Matrix: o.Matrix, Release: r, BaseDir: base, OutDir: dist, Only: only, Logger: o.Logger,
			Tree: func(ctx context.Context, t *platforms.Target) (string, error) {
				tr, err := trees.tree(ctx, r, t)
				if err != nil {
					return "", err
				}
				return tr.Dir, nil
			},
		})
		if err != nil {
			return nil, fmt.Errorf("%s: wheels: %w", name, err)
		}
		for _, w := range ws {
			out = append(out, BuiltWheel{ReleaseWheel: w, release: name})
		}
	}
	return out, nil
}

// WheelOptions configure Wheel.
type WheelOptions struct {
	Trees
	Release *platforms.Release
	Target  *platforms.Target
	Src     string // a source directory or an sdist
	OutDir  string
}

// Wheel builds a project into a wheel with one target's tree (`pypyctl
// wheels build`), with the release's SOURCE_DATE_EPOCH. A foreign
// target's PyPy runs under qemu-user with the sysroot its smoke test
// uses, and compiles with a cross gcc.
func Wheel(ctx context.Context, o WheelOptions) (*wheels.BuildResult, error) {
	tr, err := o.tree(ctx, o.Release, o.Target)
	if err != nil {
		return nil, err
	}
	bo := wheels.BuildOptions{
		Tree: tr.Dir, Arch: wheels.Arch(o.Target.Arch), Src: o.Src, OutDir: o.OutDir,
		Epoch: o.Release.SourceDateEpoch, Logger: o.Logger,
	}
	if vmm := tr.Report.VM; vmm != nil && vmm.Arch != runtime.GOARCH {
		if bo.Emulator, err = smoke.EmulatorFor(ctx, o.Dirs.Cache, o.Target.DebianArch, vmm.RuntimeDepends, o.Logger); err != nil {
			return nil, err
		}
		bo.CrossCC = wheels.CrossCompiler(bo.Arch)
	}
	return wheels.Build(ctx, bo)
}
