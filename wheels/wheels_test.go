package wheels

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		tags []string
		err  bool
	}{
		{"sqlitever-1.0-pp39-pypy39_pp73-linux_x86_64.whl", []string{"pp39-pypy39_pp73-linux_x86_64"}, false},
		{"a-1-2-py2.py3-none-any.whl", []string{"py2-none-any", "py3-none-any"}, false},
		{"a-1-py3-none.whl", nil, true},
		{"a-1-py3-none-any.zip", nil, true},
	}
	for _, tt := range tests {
		n, err := ParseName(tt.in)
		if (err != nil) != tt.err {
			t.Fatalf("%s: err %v", tt.in, err)
		}
		if err != nil {
			continue
		}
		if got := strings.Join(n.Tags(), " "); got != strings.Join(tt.tags, " ") {
			t.Errorf("%s: tags %s, want %v", tt.in, got, tt.tags)
		}
		if n.String() != tt.in {
			t.Errorf("round trip %s → %s", tt.in, n.String())
		}
	}
}

func TestPlatformArch(t *testing.T) {
	for in, want := range map[string]string{
		"linux_x86_64": "x86_64", "manylinux_2_17_x86_64": "x86_64", "manylinux2014_aarch64": "aarch64",
		"manylinux_2_28_s390x": "s390x", "any": "", "win_amd64": "",
	} {
		if got := platformArch(in); got != want {
			t.Errorf("platformArch(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestInterpreterTags(t *testing.T) {
	tests := []struct {
		name string
		bad  bool
	}{
		{"a-1-pp39-pypy39_pp73-linux_x86_64.whl", false},
		{"a-1-pp39-pypy38_pp73-linux_x86_64.whl", true},
		{"a-1-pp39-cp39-linux_x86_64.whl", true},
		{"a-1-cp39-cp39-linux_x86_64.whl", false},
	}
	for _, tt := range tests {
		n, err := ParseName(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(checkInterpreterTags(n)) > 0; got != tt.bad {
			t.Errorf("%s: problems=%v, want bad=%v", tt.name, checkInterpreterTags(n), tt.bad)
		}
	}
}

func TestPolicies(t *testing.T) {
	ps, err := Policies()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if !p.Allows("libc.so.6") || p.Allows("libsqlite3.so.0") {
			t.Errorf("%s: libc must be allowed, libsqlite3 not", p.Name)
		}
		if i > 0 && compareVersions(ps[i-1].Max["GLIBC"], p.Max["GLIBC"]) >= 0 {
			t.Errorf("policies out of order at %s", p.Name)
		}
		if want := "manylinux_" + strings.ReplaceAll(p.Max["GLIBC"], ".", "_"); p.Name != want {
			t.Errorf("%s: GLIBC max %s does not match its name", p.Name, p.Max["GLIBC"])
		}
	}
	if p, arch, ok := policyFor(ps, "manylinux2014_aarch64"); !ok || p.Name != "manylinux_2_17" || arch != "aarch64" {
		t.Errorf("manylinux2014_aarch64 → %s %s %v", p.Name, arch, ok)
	}
	if _, _, ok := policyFor(ps, "manylinux1_aarch64"); ok {
		t.Error("manylinux1 has no aarch64 policy")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"2.9", "2.17", -1}, {"2.17", "2.17", 0}, {"3.4.30", "3.4.8", 1}, {"1.3", "1.3.1", -1}} {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// pureWheel is a small wheel without ELF members, written by writeWheel.
func pureWheel(t *testing.T, dir string, epoch int64) string {
	t.Helper()
	info := "demo-1.0.dist-info"
	files := []file{
		{Name: "demo/__init__.py", Mode: 0o644, Data: []byte("x = 1\n")},
		{Name: info + "/METADATA", Mode: 0o644, Data: []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")},
		{Name: info + "/WHEEL", Mode: 0o644, Data: []byte("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	}
	p := filepath.Join(dir, "demo-1.0-py3-none-any.whl")
	if err := writeWheel(p, writeRecord(files, info), epoch); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecordCheck(t *testing.T) {
	dir := t.TempDir()
	p := pureWheel(t, dir, 1673395200)
	rep, err := Check(p)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("fresh wheel fails: %v", rep.Problems)
	}
	// Tamper with one member: its RECORD hash must no longer match.
	files, err := readWheel(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if files[i].Name == "demo/__init__.py" {
			files[i].Data = []byte("x = 2\n")
		}
	}
	bad := filepath.Join(t.TempDir(), filepath.Base(p))
	if err := writeWheel(bad, files, 0); err != nil {
		t.Fatal(err)
	}
	rep, err = Check(bad)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "demo/__init__.py: hash") {
		t.Fatalf("tampered member not reported: %v", rep.Problems)
	}
}

func TestWriteWheelReproducible(t *testing.T) {
	a, err := os.ReadFile(pureWheel(t, t.TempDir(), 1673395200))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pureWheel(t, t.TempDir(), 1673395200))
	if err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(pureWheel(t, t.TempDir(), 1700000000))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same wheel differ")
	}
	if bytes.Equal(a, c) {
		t.Error("the epoch does not reach the zip's times")
	}
}

func TestRetagWHEEL(t *testing.T) {
	got := string(retagWHEEL([]byte("Wheel-Version: 1.0\nTag: pp39-pypy39_pp73-linux_x86_64\n"), []string{"pp39-pypy39_pp73-manylinux_2_17_x86_64"}))
	want := "Wheel-Version: 1.0\nTag: pp39-pypy39_pp73-manylinux_2_17_x86_64\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRepairPureWheel(t *testing.T) {
	testtool.Need(t, "patchelf")
	p := pureWheel(t, t.TempDir(), 0)
	_, err := Repair(context.Background(), p, RepairOptions{OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no ELF files") {
		t.Fatalf("repair of a pure wheel: %v", err)
	}
}
