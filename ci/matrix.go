package ci

import (
	"fmt"
	"strings"

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
	// Skipped are the release's targets the matrix marks not_buildable:
	// no job runs pypyctl where it cannot build yet.
	Skipped []SkippedTarget `json:"-" yaml:"-"`
}

// SkippedTarget is a target left out of CI, with the matrix's reason.
type SkippedTarget struct{ Target, Reason string }

// skippedNote is the generated files' comment naming the targets that got
// no job, so a reader of the workflow sees why a target is absent.
func (jm JobMatrix) skippedNote(prefix string) string {
	s := ""
	for _, sk := range jm.Skipped {
		s += fmt.Sprintf("\n%sNo job for %s (not_buildable in the matrix): %s", prefix, sk.Target, sk.Reason)
	}
	if s != "" {
		s = "\n" + strings.TrimSuffix(prefix, " ") + s
	}
	return s
}

// Jobs returns one job per target of release r, in the release's order.
func Jobs(m *platforms.Matrix, r *platforms.Release) (JobMatrix, error) {
	jm := JobMatrix{Include: make([]Job, 0, len(r.Targets))}
	for _, rt := range r.Targets {
		t, err := m.Target(rt.Name)
		if err != nil {
			return JobMatrix{}, fmt.Errorf("release %s: %w", r.Name, err)
		}
		if t.NotBuildable != "" {
			jm.Skipped = append(jm.Skipped, SkippedTarget{t.Name, t.NotBuildable})
			continue
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
		return JobMatrix{}, fmt.Errorf("release %s ships no targets pypyctl can build", r.Name)
	}
	return jm, nil
}
