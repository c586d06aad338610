package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pypyctl/pypyctl/packaging/apt"
	"github.com/pypyctl/pypyctl/packaging/brew"
	"github.com/pypyctl/pypyctl/packaging/deb"
	"github.com/pypyctl/pypyctl/pipeline"
)

// Outputs are the distro outputs a release writes beside its published
// archives. OCI images stay with `pypyctl package oci`, which reads the
// same store: pushing images is a registry's job, not a release dir's.
type Outputs struct {
	// BrewTap, when set, gets Formula/pypy@X.Y.rb for every release, its
	// URLs and sha256s read back from the published versions.json.
	BrewTap string
	// AptRepo, when set, gets a .deb of every Linux target, added to the
	// suite AptSuite and signed with AptKey (OpenPGP).
	AptRepo  string
	AptSuite string
	AptKey   *apt.Key
}

// OutputsReport says what the outputs step wrote.
type OutputsReport struct {
	Formulas []string    `json:"formulas,omitempty"`
	Debs     []string    `json:"debs,omitempty"`
	Apt      *apt.Result `json:"apt,omitempty"`
}

func (x Outputs) any() bool { return x.BrewTap != "" || x.AptRepo != "" }

// writeOutputs runs after publishing, so the formulas point at what Dest
// serves. Nightlies get neither: their versions are not Debian or
// Homebrew versions.
func writeOutputs(ctx context.Context, o *Options, jobs []Job) (*OutputsReport, error) {
	if !o.Outputs.any() || o.Nightly != nil {
		return nil, nil
	}
	rep := &OutputsReport{}
	if o.Outputs.BrewTap != "" {
		idx := filepath.Join(o.Dest, "versions.json")
		for _, name := range releasesOf(jobs) {
			r, err := o.Matrix.Release(name)
			if err != nil {
				return nil, err
			}
			archives, err := brew.FromIndex(ctx, o.Matrix, r, idx, true)
			if err != nil {
				return nil, fmt.Errorf("brew: %w", err)
			}
			if len(archives) == 0 {
				o.log().Info("brew: no macOS or Linux archive Homebrew can use; no formula", "release", name)
				continue
			}
			res, err := brew.Write(o.Matrix, r, archives, o.Outputs.BrewTap)
			if err != nil {
				return nil, err
			}
			rep.Formulas = append(rep.Formulas, res.Formula)
		}
	}
	if o.Outputs.AptRepo != "" {
		// The .debs only live until apt.Add has copied them into the pool.
		tmp, err := os.MkdirTemp("", "pypyctl-release-debs-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		debs, err := buildDebs(ctx, o, jobs, tmp)
		if err != nil {
			return nil, err
		}
		for _, d := range debs {
			rep.Debs = append(rep.Debs, filepath.Base(d))
		}
		if len(debs) > 0 {
			suite := o.Outputs.AptSuite
			if suite == "" {
				suite = "stable"
			}
			res, err := apt.Add(ctx, apt.Options{Repo: o.Outputs.AptRepo, Suite: suite, Debs: debs, Key: o.Outputs.AptKey, Logger: o.Logger})
			if err != nil {
				return nil, fmt.Errorf("apt: %w", err)
			}
			rep.Apt = res
		}
	}
	return rep, nil
}

// buildDebs packages every Linux target's tree, which the builds left in
// the store (a merge job pulls them from a shared registry store).
func buildDebs(ctx context.Context, o *Options, jobs []Job, out string) ([]string, error) {
	var debs []string
	for _, j := range jobs {
		if j.Target.OS != "linux" || j.Target.DebianArch == "" {
			continue
		}
		tr, err := pipeline.Tree(ctx, pipeline.Options{
			Matrix: o.Matrix, Release: j.Release, Target: j.Target, Dirs: o.Dirs, Store: o.Store,
			NoSmoke: true, PostVM: o.PostVM, Logger: o.Logger, Progress: o.Progress, SourceDir: o.SourceDir,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: tree for the .deb: %w", j.Name(), err)
		}
		res, err := deb.Build(ctx, deb.Options{
			Tree: tr.Dir, Release: j.Release, Target: j.Target, Project: o.Matrix.Project,
			RuntimeDepends: tr.Report.VM.DebianDepends(), OutDir: out, Logger: o.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", j.Name(), err)
		}
		debs = append(debs, res.Path)
	}
	sort.Strings(debs)
	return debs, nil
}
