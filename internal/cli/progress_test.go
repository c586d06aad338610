package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// At 100% the bar is drawn once, then left alone until another step.
func TestProgressStopsAtComplete(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, on: true}
	steps := []struct {
		step        string
		done, total int64
		wantDraw    bool
	}{
		{"download a", 10, 100, true},
		{"download a", 100, 100, true},
		{"download a", 100, 100, false},
		{"download a", 100, 100, false},
		{"extract a", 100, 100, true},
		{"extract a", 100, 100, false},
	}
	for i, s := range steps {
		before := strings.Count(buf.String(), "\r")
		p.last = time.Time{} // rate limiting is not what is tested
		p.update(s.step, s.done, s.total)
		if drew := strings.Count(buf.String(), "\r") > before; drew != s.wantDraw {
			t.Errorf("update %d (%s %d/%d): drew %v, want %v", i, s.step, s.done, s.total, drew, s.wantDraw)
		}
	}
}

func TestElapsed(t *testing.T) {
	for _, tt := range []struct {
		ago  time.Duration
		want string
	}{
		{300 * time.Millisecond, "300ms"}, {2500 * time.Millisecond, "2.5s"}, {125 * time.Second, "2m05s"},
	} {
		if got := elapsed(time.Now().Add(-tt.ago)); !strings.HasSuffix(got, tt.want) {
			t.Errorf("elapsed(%s) = %s, want …%s", tt.ago, got, tt.want)
		}
	}
}
