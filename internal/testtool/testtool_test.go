package testtool

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB double that records how the test would stop.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(f string, a ...any) {
	r.failed, r.msg = true, sprintf(f, a...)
}
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped, r.msg = true, sprintf(f, a...)
}

func TestNeed(t *testing.T) {
	const missing = "pypyctl-no-such-tool"
	cases := []struct {
		name, ciEnv, ci string
		tools           []string
		wantFail        bool
		wantSkip        bool
	}{
		{name: "present", tools: []string{"go"}},
		{name: "missing outside CI skips", tools: []string{missing}, wantSkip: true},
		{name: "missing under PYPYCTL_CI fails", ciEnv: "1", tools: []string{missing}, wantFail: true},
		{name: "missing under CI=true fails", ci: "true", tools: []string{missing}, wantFail: true},
		{name: "second of two missing", ciEnv: "1", tools: []string{"go", missing}, wantFail: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PYPYCTL_CI", c.ciEnv)
			t.Setenv("CI", c.ci)
			r := &recorder{TB: t}
			Need(r, c.tools...)
			if r.failed != c.wantFail || r.skipped != c.wantSkip {
				t.Fatalf("failed=%v skipped=%v (%q), want failed=%v skipped=%v", r.failed, r.skipped, r.msg, c.wantFail, c.wantSkip)
			}
			if (c.wantFail || c.wantSkip) && (!strings.Contains(r.msg, missing) || !strings.Contains(r.msg, Setup)) {
				t.Errorf("message %q should name %s and %s", r.msg, missing, Setup)
			}
		})
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
