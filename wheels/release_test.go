package wheels

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

// TestBuildReleaseTargets checks which targets BuildRelease asks a tree
// for: Linux ones of the host's arch, narrowed by wheels[].targets and
// Only. The tree function fails, so nothing is built.
func TestBuildReleaseTargets(t *testing.T) {
	host := map[string]string{"amd64": "linux-amd64", "arm64": "linux-arm64"}[runtime.GOARCH]
	if host == "" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skipf("no Linux target for %s", runtime.GOARCH)
	}
	m := &platforms.Matrix{Targets: []platforms.Target{
		{Name: "linux-amd64", OS: "linux", Arch: "amd64"},
		{Name: "linux-arm64", OS: "linux", Arch: "arm64"},
		{Name: "windows-amd64", OS: "windows", Arch: "amd64"},
	}}
	all := []platforms.ReleaseTarget{{Name: "linux-amd64"}, {Name: "linux-arm64"}, {Name: "windows-amd64"}}
	stop := errors.New("stop")
	tests := []struct {
		name    string
		targets []string
		only    []string
		want    string // the target asked for, "" for none
	}{
		{"default: the host's Linux target", nil, nil, host},
		{"listed elsewhere only", []string{"windows-amd64"}, nil, ""},
		{"only another job's target", nil, []string{"windows-amd64"}, ""},
		{"only the host's", nil, []string{host}, host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &platforms.Release{Name: "r", Targets: all, Wheels: []platforms.WheelSource{{Name: "w", Path: "src", Targets: tt.targets}}}
			var asked []string
			_, err := BuildRelease(context.Background(), ReleaseOptions{Matrix: m, Release: r, OutDir: t.TempDir(), Only: tt.only,
				Tree: func(_ context.Context, tg *platforms.Target) (string, error) {
					asked = append(asked, tg.Name)
					return "", stop
				}})
			if got := strings.Join(asked, ","); got != tt.want {
				t.Fatalf("asked for %q, want %q", got, tt.want)
			}
			if (tt.want != "") != errors.Is(err, stop) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
