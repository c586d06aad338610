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
	"github.com/pypyctl/pypyctl/platforms"
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
		do := DebOptions{Trees: o.trees(), Release: j.Release, Target: j.Target, Deb: deb.Options{OutDir: out}}
		tr, err := do.tree(ctx, j.Release, j.Target)
		if err != nil {
			return nil, fmt.Errorf("%s: tree for the .deb: %w", j.Name(), err)
		}
		res, err := debOf(ctx, do, tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", j.Name(), err)
		}
		debs = append(debs, res.Path)
	}
	sort.Strings(debs)
	return debs, nil
}

// DebOptions configure Deb.
type DebOptions struct {
	Trees
	Release *platforms.Release
	Target  *platforms.Target // a Linux target with a Debian architecture
	// Deb is the package to make; Deb fills in the tree, the release, the
	// target, the project, the VM's Debian dependencies and the log.
	Deb deb.Options
}

// DebReport is a .deb Deb made (`pypyctl package deb --json`).
type DebReport struct {
	Release string `json:"release"`
	Target  string `json:"target"`
	Tree    string `json:"tree"`
	*deb.Result
}

// Deb packages one target's tree as a .deb (`pypyctl package deb`).
func Deb(ctx context.Context, o DebOptions) (*DebReport, error) {
	tr, err := o.tree(ctx, o.Release, o.Target)
	if err != nil {
		return nil, err
	}
	return debOf(ctx, o, tr)
}

// debOf packages the tree tr; a release's apt repository takes its .debs
// from here too.
func debOf(ctx context.Context, o DebOptions, tr *pipeline.TreeResult) (*DebReport, error) {
	do := o.Deb
	do.Tree, do.Release, do.Target, do.Project = tr.Dir, o.Release, o.Target, o.Matrix.Project
	do.RuntimeDepends, do.Logger = tr.Report.VM.DebianDepends(), o.Logger
	res, err := deb.Build(ctx, do)
	if err != nil {
		return nil, err
	}
	return &DebReport{Release: o.Release.Name, Target: o.Target.Name, Tree: tr.Dir, Result: res}, nil
}
