package release

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
)

// Job is one (release, target) to build.
type Job struct {
	Release *platforms.Release
	Target  *platforms.Target
}

// Name is how jobs are named in logs and the summary.
func (j Job) Name() string { return j.Release.Name + "/" + j.Target.Name }

// Selection says which releases and targets to plan.
type Selection struct {
	// Version selects every release of this PyPy version (one per Python
	// version); Release selects one release by name. With neither, the
	// matrix's default release.
	Version, Release string
	// Targets limits the plan; empty means every target of the release.
	Targets []string
}

// Plan lists the jobs of sel, releases in name order and targets in the
// release's order, so every process computes the same plan. A target named
// in sel.Targets that no selected release has is an error.
func Plan(m *platforms.Matrix, sel Selection) ([]Job, error) {
	if sel.Version != "" && sel.Release != "" {
		return nil, fmt.Errorf("choose --version or --release, not both")
	}
	var rels []*platforms.Release
	switch {
	case sel.Version != "":
		for i := range m.Releases {
			if m.Releases[i].PyPyVersion == sel.Version {
				rels = append(rels, &m.Releases[i])
			}
		}
		if len(rels) == 0 {
			var have []string
			for _, r := range m.Releases {
				have = append(have, r.PyPyVersion)
			}
			slices.Sort(have)
			return nil, fmt.Errorf("the matrix has no release of PyPy %s (it has %s)", sel.Version, strings.Join(slices.Compact(have), ", "))
		}
	default:
		r, err := m.Release(sel.Release)
		if err != nil {
			return nil, err
		}
		rels = []*platforms.Release{r}
	}
	sort.SliceStable(rels, func(i, j int) bool { return rels[i].Name < rels[j].Name })
	want := map[string]bool{}
	for _, t := range sel.Targets {
		want[t] = true
	}
	used := map[string]bool{}
	var jobs []Job
	for _, r := range rels {
		for _, rt := range r.Targets {
			if len(want) > 0 && !want[rt.Name] {
				continue
			}
			t, err := m.Target(rt.Name)
			if err != nil {
				return nil, fmt.Errorf("release %s: %w", r.Name, err)
			}
			used[rt.Name] = true
			jobs = append(jobs, Job{Release: r, Target: t})
		}
	}
	var missing []string
	for _, t := range sel.Targets {
		if !used[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no selected release has target %s", strings.Join(missing, ", "))
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("nothing to build: the selected releases list no targets")
	}
	return jobs, nil
}
