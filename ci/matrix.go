package ci

import (
	"fmt"

	"github.com/pypyctl/pypyctl/platforms"
)

// FormatGitHubActions is the one job-matrix format so far: the value of
// a GitHub Actions strategy.matrix.
const FormatGitHubActions = "github-actions"

// Job is one CI job: one target of one release.
type Job struct {
	Target string `json:"target" yaml:"target"`
	// Runner is the CI runner label the target's matrix entry names.
	Runner string `json:"runner" yaml:"runner"`
	// Emulated jobs build a foreign architecture under qemu-user.
	Emulated bool   `json:"emulated" yaml:"emulated"`
	Release  string `json:"release" yaml:"release"`
}

// JobMatrix is the include list a GitHub Actions strategy.matrix takes.
type JobMatrix struct {
	Include []Job `json:"include" yaml:"include"`
}

// Jobs returns one job per target of release r, in the release's order.
func Jobs(m *platforms.Matrix, r *platforms.Release) (JobMatrix, error) {
	jm := JobMatrix{Include: make([]Job, 0, len(r.Targets))}
	for _, rt := range r.Targets {
		t, err := m.Target(rt.Name)
		if err != nil {
			return JobMatrix{}, fmt.Errorf("release %s: %w", r.Name, err)
		}
		if t.Runner == "" {
			return JobMatrix{}, fmt.Errorf("release %s: target %s has no runner in the matrix", r.Name, t.Name)
		}
		jm.Include = append(jm.Include, Job{
			Target:   t.Name,
			Runner:   t.Runner,
			Emulated: t.Builder == "emulated",
			Release:  r.Name,
		})
	}
	if len(jm.Include) == 0 {
		return JobMatrix{}, fmt.Errorf("release %s ships no targets", r.Name)
	}
	return jm, nil
}
