package wheels

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
)

// ReleaseOptions configures BuildRelease.
type ReleaseOptions struct {
	Matrix  *platforms.Matrix
	Release *platforms.Release
	BaseDir string // the matrix file's directory: wheels[].path is relative to it
	OutDir  string // the release's output dir; wheels go beside the archives
	// Tree returns the assembled tree of a target (pipeline.Tree's Dir). A
	// function, so this package does not run the build stages itself.
	Tree func(ctx context.Context, t *platforms.Target) (string, error)
	// Only builds the targets whose names it lists (empty: all), so a CI
	// job per target builds only its own wheels.
	Only   []string
	Logger *slog.Logger // nil: log nothing
}

// ReleaseWheel is one wheel a release built.
type ReleaseWheel struct {
	Name     string  `json:"name"` // wheels[].name
	Target   string  `json:"target"`
	Path     string  `json:"path"`
	Platform string  `json:"platform"` // linux_x86_64, or the manylinux tag after repair
	Repaired bool    `json:"repaired"`
	Report   *Report `json:"report"`
}

// BuildRelease builds (and, where the matrix asks, repairs) every wheel
// of the release's wheels: section for each of its Linux targets, checks
// it, and leaves only wheels that pass in OutDir. Targets of another arch
// than the host's are skipped with a log line: they need a cross compiler.
func BuildRelease(ctx context.Context, o ReleaseOptions) ([]ReleaseWheel, error) {
	log := logging.OrDiscard(o.Logger)
	var out []ReleaseWheel
	for _, w := range o.Release.Wheels {
		targets := w.Targets
		if len(targets) == 0 {
			for _, rt := range o.Release.Targets {
				targets = append(targets, rt.Name)
			}
		}
		for _, name := range targets {
			if len(o.Only) > 0 && !slices.Contains(o.Only, name) {
				continue
			}
			t, err := o.Matrix.Target(name)
			if err != nil {
				return nil, err
			}
			if t.OS != "linux" {
				continue
			}
			arch := Arch(t.Arch)
			if arch != hostArch() {
				log.Info("skipping a wheel for another arch: a host builds only its own", "wheel", w.Name, "target", name, "host", hostArch())
				continue
			}
			rw, err := buildOne(ctx, o, w, t, arch)
			if err != nil {
				return nil, fmt.Errorf("release %s: wheel %s for %s: %w", o.Release.Name, w.Name, name, err)
			}
			out = append(out, rw)
		}
	}
	return out, nil
}

func buildOne(ctx context.Context, o ReleaseOptions, w platforms.WheelSource, t *platforms.Target, arch string) (ReleaseWheel, error) {
	tree, err := o.Tree(ctx, t)
	if err != nil {
		return ReleaseWheel{}, err
	}
	src := w.Path
	if !filepath.IsAbs(src) {
		src = filepath.Join(o.BaseDir, src)
	}
	// Build into a scratch dir: only the final, checked wheel reaches OutDir.
	scratch, err := os.MkdirTemp("", "pypyctl-release-wheel-")
	if err != nil {
		return ReleaseWheel{}, err
	}
	defer os.RemoveAll(scratch)
	b, err := Build(ctx, BuildOptions{Tree: tree, Arch: arch, Src: src, OutDir: scratch, Epoch: o.Release.SourceDateEpoch, Logger: o.Logger})
	if err != nil {
		return ReleaseWheel{}, err
	}
	wheel := b.Wheel
	if w.Repair {
		r, err := Repair(ctx, wheel, RepairOptions{OutDir: filepath.Join(scratch, "repaired"), Epoch: o.Release.SourceDateEpoch})
		if err != nil {
			return ReleaseWheel{}, err
		}
		wheel = r.Wheel
	}
	rep, err := Check(wheel)
	if err != nil {
		return ReleaseWheel{}, err
	}
	if !rep.OK() {
		return ReleaseWheel{}, fmt.Errorf("check %s: %v", filepath.Base(wheel), rep.Problems)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return ReleaseWheel{}, err
	}
	dst := filepath.Join(o.OutDir, filepath.Base(wheel))
	// Normalize writes through a temp file and a rename into OutDir.
	if err := Normalize(wheel, dst, o.Release.SourceDateEpoch); err != nil {
		return ReleaseWheel{}, err
	}
	n, _ := ParseName(dst)
	return ReleaseWheel{Name: w.Name, Target: t.Name, Path: dst, Platform: n.Platform[0], Repaired: w.Repair, Report: rep}, nil
}
