package deb

import (
	"os/exec"
	"testing"
)

func TestVersion(t *testing.T) {
	tests := []struct {
		pypy    string
		rev     int
		want    string
		wantErr bool
	}{
		{"7.3.11", 1, "7.3.11-1", false},
		{"7.3.20", 3, "7.3.20-3", false},
		{"7.3.12rc1", 1, "7.3.12~rc1-1", false},
		{"7.3.12b2", 1, "7.3.12~b2-1", false},
		{"7.3.21.dev3", 1, "7.3.21~dev3-1", false},
		{"nightly", 1, "", true},
		{"7.3.11", 0, "", true},
		{"v7.3.11", 1, "", true},
	}
	for _, tt := range tests {
		got, err := Version(tt.pypy, tt.rev)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Version(%q, %d) = %q, %v; want %q (error %v)", tt.pypy, tt.rev, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if verr := ValidVersion(got); verr != nil {
				t.Errorf("Version(%q) = %q is not valid: %v", tt.pypy, got, verr)
			}
		}
	}
}

func TestValidVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"7.3.11-1", true},
		{"1:7.3.11-1", true},
		{"7.3.12~rc1-1", true},
		{"7.3.11", true},
		{"7.3-11-1", true}, // hyphens are allowed in upstream when there is a revision
		{"a7.3-1", false},
		{"7.3.11-", false},
		{"x:7.3-1", false},
		{"7.3 11-1", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := ValidVersion(tt.v); (err == nil) != tt.ok {
			t.Errorf("ValidVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}

// TestCompareVersions checks the ordering against dpkg itself.
func TestCompareVersions(t *testing.T) {
	needTool(t, "dpkg")
	pairs := [][2]string{
		{"7.3.12~rc1-1", "7.3.12-1"},
		{"7.3.11-1", "7.3.12~rc1-1"},
		{"7.3.11-1", "7.3.11-2"},
		{"7.3.9-1", "7.3.11-1"},
		{"7.3.21~dev3-1", "7.3.21~rc1-1"},
		{"1:1.0-1", "2.0-1"},
		{"1.0a-1", "1.0-1"},
		{"1.0+b1", "1.0"},
		{"1.0~~", "1.0~"},
		{"5.1.1alpha+20120614", "5.1.1"},
		{"1.2.0", "1:1.2.0"},
		{"3.0.0", "3.0.0"},
		{"2.35", "2.36"},
		{"1.001", "1.1"},
	}
	for _, p := range pairs {
		for _, ab := range [][2]string{p, {p[1], p[0]}} {
			got := CompareVersions(ab[0], ab[1])
			want := 0
			for _, op := range []struct {
				op string
				v  int
			}{{"lt", -1}, {"gt", 1}, {"eq", 0}} {
				if exec.Command("dpkg", "--compare-versions", ab[0], op.op, ab[1]).Run() == nil {
					want = op.v
					break
				}
			}
			if got != want {
				t.Errorf("CompareVersions(%q, %q) = %d, dpkg says %d", ab[0], ab[1], got, want)
			}
		}
	}
}

func TestAlternativePriority(t *testing.T) {
	tests := []struct {
		python, pypy string
		want         int
		wantErr      bool
	}{
		{"3.11.13", "7.3.20", 110703209, false},
		{"3.9.16", "7.3.11", 90703119, false},
		{"3.9.16", "7.3.12rc1", 90703120, false},
		{"2.7.18", "7.3.20", 70703209, false},
		{"3", "7.3.11", 0, true},
		{"3.9", "7.3.x", 0, true},
	}
	for _, tt := range tests {
		got, err := AlternativePriority(tt.python, tt.pypy)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("AlternativePriority(%q, %q) = %d, %v; want %d", tt.python, tt.pypy, got, err, tt.want)
		}
	}
	// Newer PyPy wins within a Python version; a release beats its rc.
	order := [][2]string{{"3.9.16", "7.3.11"}, {"3.9.16", "7.3.12rc1"}, {"3.9.16", "7.3.12"}, {"3.10.14", "7.3.12"}, {"3.11.13", "7.3.20"}}
	last := -1
	for _, o := range order {
		p, err := AlternativePriority(o[0], o[1])
		if err != nil || p <= last || p >= 1<<31 {
			t.Errorf("priority of %v = %d (previous %d), want increasing and < 2^31", o, p, last)
		}
		last = p
	}
}
