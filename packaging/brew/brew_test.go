package brew

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
)

func needTool(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
}

func matrix(t *testing.T) *platforms.Matrix {
	t.Helper()
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func release(t *testing.T, m *platforms.Matrix, name string) *platforms.Release {
	t.Helper()
	r, err := m.Release(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// makeDist writes a random archive for each named target of the release
// and a SHA256SUMS made by sha256sum itself. It returns file → sha256 as
// Go computes it.
func makeDist(t *testing.T, m *platforms.Matrix, r *platforms.Release, targets ...string) (string, map[string]string) {
	t.Helper()
	needTool(t, "sha256sum")
	dist := t.TempDir()
	sums := map[string]string{}
	var names []string
	for _, name := range targets {
		tg, err := m.Target(name)
		if err != nil {
			t.Fatal(err)
		}
		file := r.ArchiveName(tg, m.Formats(r, tg)[0])
		b := make([]byte, 4096)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dist, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		sums[file] = hex.EncodeToString(s[:])
		names = append(names, file)
	}
	cmd := exec.Command("sha256sum", names...)
	cmd.Dir = dist
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "SHA256SUMS"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dist, sums
}

// spec loads the formula in Ruby with testdata/harness.rb and returns
// what it declares on one OS and CPU.
func spec(t *testing.T, formula, class, osName, cpu string) map[string]any {
	t.Helper()
	out, err := exec.Command("ruby", "testdata/harness.rb", "spec", formula, class, osName, cpu).CombinedOutput()
	if err != nil {
		t.Fatalf("ruby harness %s/%s: %v\n%s", osName, cpu, err, out)
	}
	var s map[string]any
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("harness output: %v\n%s", err, out)
	}
	return s
}

func TestClassName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"pypy@3.9", "PypyAT39"},
		{"pypy@3.11", "PypyAT311"},
		{"pypy@2.7", "PypyAT27"},
		{"pypy3.10", "Pypy310"},
		{"python@3.12", "PythonAT312"},
		{"gcc@9", "GccAT9"},
		{"foo-bar+baz", "FooBarxbaz"},
		{"PyPy", "Pypy"},
	}
	for _, tt := range tests {
		if got := ClassName(tt.name); got != tt.want {
			t.Errorf("ClassName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestFormulaAgainstMatrix writes the formula of a release with macOS and
// Linux targets, checks it with ruby -c, then loads it for every OS/CPU
// pair and checks each url/sha256 against the archive of that target.
func TestFormulaAgainstMatrix(t *testing.T) {
	needTool(t, "ruby")
	tests := []struct {
		release string
		targets []string // archives in dist
		onlyOS  string
	}{
		{"pypy3.11-v7.3.20", []string{"linux-amd64", "linux-arm64", "linux-386", "macos-arm64", "macos-amd64", "windows-amd64"}, ""},
		{"pypy3.9-v7.3.11", []string{"linux-amd64", "linux-arm64"}, "linux"},
		{"pypy2.7-v7.3.20", []string{"linux-amd64", "linux-arm64", "macos-arm64", "macos-amd64"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.release, func(t *testing.T) {
			m := matrix(t)
			r := release(t, m, tt.release)
			dist, sums := makeDist(t, m, r, tt.targets...)
			base := "https://downloads.example.org/pypy/"
			archives, err := FromSums(m, r, dist, base, false)
			if err != nil {
				t.Fatal(err)
			}
			tap := t.TempDir()
			res, err := Write(m, r, archives, tap)
			if err != nil {
				t.Fatal(err)
			}
			if res.Formula != filepath.Join(tap, "Formula", "pypy@"+r.PythonShort()+".rb") {
				t.Errorf("formula path %s", res.Formula)
			}
			if out, err := exec.Command("ruby", "-c", res.Formula).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
				t.Fatalf("ruby -c: %v\n%s", err, out)
			}
			first, _ := os.ReadFile(res.Formula)
			if _, err := Write(m, r, archives, tap); err != nil {
				t.Fatal(err)
			}
			if again, _ := os.ReadFile(res.Formula); string(again) != string(first) {
				t.Error("writing the formula twice gave different bytes")
			}

			for _, sys := range []struct{ os, cpu, goos, goarch string }{
				{"macos", "arm", "darwin", "arm64"}, {"macos", "intel", "darwin", "amd64"},
				{"linux", "arm", "linux", "arm64"}, {"linux", "intel", "linux", "amd64"},
			} {
				s := spec(t, res.Formula, res.Class, sys.os, sys.cpu)
				for k, want := range map[string]string{
					"desc": "Fast Python " + r.PythonShort() + " interpreter with a just-in-time compiler", "homepage": m.Project.Homepage,
					"version": r.PyPyVersion, "license": m.Project.License, "keg_only": "versioned_formula",
				} {
					if s[k] != want {
						t.Errorf("%s/%s: %s = %v, want %q", sys.os, sys.cpu, k, s[k], want)
					}
				}
				if s["test"] != true {
					t.Errorf("%s/%s: no test block", sys.os, sys.cpu)
				}
				var target *platforms.Target
				for _, rt := range r.Targets {
					tg, _ := m.Target(rt.Name)
					if tg.OS == sys.goos && tg.Arch == sys.goarch {
						target = tg
					}
				}
				if target == nil {
					if s["url"] != nil {
						t.Errorf("%s/%s: url %v for a target the release does not ship", sys.os, sys.cpu, s["url"])
					}
					continue
				}
				file := r.ArchiveName(target, m.Formats(r, target)[0])
				if s["url"] != base+file {
					t.Errorf("%s/%s: url %v, want %s", sys.os, sys.cpu, s["url"], base+file)
				}
				if s["sha256"] != sums[file] {
					t.Errorf("%s/%s: sha256 %v, want the archive's %s", sys.os, sys.cpu, s["sha256"], sums[file])
				}
				deps := fmt.Sprint(s["depends_on"])
				if tt.onlyOS != "" && !strings.Contains(deps, tt.onlyOS) {
					t.Errorf("%s/%s: depends_on %s lacks %s", sys.os, sys.cpu, deps, tt.onlyOS)
				}
			}
			body := string(first)
			for _, want := range []string{
				"class " + res.Class + " < Formula",
				`libexec.install Dir["*"]`,
				`bin.install_symlink libexec/"bin/` + r.Interpreter() + `"`,
				`system bin/"` + r.Interpreter() + `", "-c", "import ssl, sqlite3"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("formula lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

// TestFormulaOneArch: an OS with one CPU family gets a plain url and a
// depends_on arch: instead of on_arm/on_intel.
func TestFormulaOneArch(t *testing.T) {
	needTool(t, "ruby")
	m := matrix(t)
	r := release(t, m, "pypy3.11-v7.3.20")
	dist, sums := makeDist(t, m, r, "macos-arm64", "linux-amd64", "linux-arm64")
	if _, err := FromSums(m, r, dist, "https://x.example/", false); err == nil {
		t.Fatal("a missing macos-amd64 archive was not reported")
	} else {
		var me *MissingError
		if !errors.As(err, &me) || strings.Join(me.Targets, ",") != "macos-amd64" {
			t.Fatalf("error %v", err)
		}
	}
	archives, err := FromSums(m, r, dist, "https://x.example", true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Write(m, r, archives, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := spec(t, res.Formula, res.Class, "macos", "intel")
	if fmt.Sprint(s["depends_on"]) != "[arch:arm64]" || s["url"] != "https://x.example/pypy3.11-v7.3.20-macos_arm64.tar.bz2" || s["sha256"] != sums["pypy3.11-v7.3.20-macos_arm64.tar.bz2"] {
		t.Errorf("macOS spec %v", s)
	}
}

func TestFromSumsErrors(t *testing.T) {
	m := matrix(t)
	r := release(t, m, "pypy3.9-v7.3.11")
	dist, _ := makeDist(t, m, r, "linux-amd64", "linux-arm64")
	// A stale line: the archive in dist no longer has that digest.
	os.WriteFile(filepath.Join(dist, "pypy3.9-v7.3.11-linux64.tar.bz2"), []byte("rebuilt"), 0o644)
	if _, err := FromSums(m, r, dist, "https://x/", false); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("stale SHA256SUMS: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "SHA256SUMS"), []byte("nothex  pypy3.9-v7.3.11-linux64.tar.bz2\n"), 0o644)
	if _, err := FromSums(m, r, bad, "https://x/", false); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad SHA256SUMS: %v", err)
	}
	if _, err := FromSums(m, r, t.TempDir(), "https://x/", false); err == nil {
		t.Error("a dist without SHA256SUMS was accepted")
	}
	if _, err := FromSums(m, r, dist, "", false); err == nil {
		t.Error("an empty base URL was accepted")
	}
}

func TestFromIndex(t *testing.T) {
	needTool(t, "ruby")
	m := matrix(t)
	r := release(t, m, "pypy3.11-v7.3.20")
	sha := func(c string) string { return strings.Repeat(c, 64) }
	index := []map[string]any{
		{"pypy_version": "7.3.20", "python_version": "2.7.18", "files": []map[string]string{
			{"filename": "pypy2.7-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://d/pypy2.7-v7.3.20-linux64.tar.bz2", "sha256": sha("0")},
		}},
		{"pypy_version": "7.3.20", "python_version": "3.11.13", "stable": true, "latest_pypy": true, "date": "2025-07-04", "files": []map[string]string{
			{"filename": "pypy3.11-v7.3.20-aarch64.tar.bz2", "arch": "aarch64", "platform": "linux", "download_url": "https://d/pypy3.11-v7.3.20-aarch64.tar.bz2", "sha256": sha("a")},
			{"filename": "pypy3.11-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://d/pypy3.11-v7.3.20-linux64.tar.bz2", "sha256": sha("b")},
			{"filename": "pypy3.11-v7.3.20-macos_arm64.tar.bz2", "arch": "arm64", "platform": "darwin", "download_url": "https://d/pypy3.11-v7.3.20-macos_arm64.tar.bz2", "sha256": sha("c")},
			{"filename": "pypy3.11-v7.3.20-macos_x86_64.tar.bz2", "arch": "x64", "platform": "darwin", "download_url": "https://d/pypy3.11-v7.3.20-macos_x86_64.tar.bz2", "sha256": sha("d")},
			{"filename": "pypy3.11-v7.3.20-win64.zip", "arch": "x64", "platform": "win64", "download_url": "https://d/pypy3.11-v7.3.20-win64.zip", "sha256": sha("e")},
		}},
	}
	b, _ := json.Marshal(index)
	path := filepath.Join(t.TempDir(), "versions.json")
	os.WriteFile(path, b, 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(b) }))
	defer srv.Close()

	want := map[string]string{"linux-amd64": sha("b"), "linux-arm64": sha("a"), "macos-arm64": sha("c"), "macos-amd64": sha("d")}
	for _, src := range []string{path, srv.URL + "/versions.json"} {
		archives, err := FromIndex(context.Background(), m, r, src, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(archives) != len(want) {
			t.Fatalf("%s: %d archives, want %d", src, len(archives), len(want))
		}
		for _, a := range archives {
			if want[a.Target] != a.SHA256 || !strings.HasSuffix(a.URL, "/"+a.Filename) {
				t.Errorf("%s: %+v", src, a)
			}
		}
		res, err := Write(m, r, archives, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if s := spec(t, res.Formula, res.Class, "linux", "arm"); s["sha256"] != sha("a") {
			t.Errorf("linux/arm sha256 %v", s["sha256"])
		}
	}

	// pypy.org's own index has no sha256: refuse rather than guess.
	delete(index[1]["files"].([]map[string]string)[0], "sha256")
	b, _ = json.Marshal(index)
	os.WriteFile(path, b, 0o644)
	if _, err := FromIndex(context.Background(), m, r, path, false); err == nil || !strings.Contains(err.Error(), "without a sha256") {
		t.Errorf("index without sha256: %v", err)
	}
	other := release(t, m, "pypy3.9-v7.3.11")
	if _, err := FromIndex(context.Background(), m, other, path, false); err == nil || !strings.Contains(err.Error(), "no entry") {
		t.Errorf("release not in index: %v", err)
	}
}

func TestRenderRefuses(t *testing.T) {
	m := matrix(t)
	r := release(t, m, "pypy3.9-v7.3.11")
	good := Archive{Target: "linux-amd64", OS: "linux", Arch: "amd64", Filename: "f.tar.bz2", URL: "https://x/f.tar.bz2", SHA256: strings.Repeat("a", 64)}
	tests := []struct {
		name string
		a    []Archive
		want string
	}{
		{"none", nil, "no macOS or Linux archive"},
		{"bad sha", []Archive{{OS: "linux", Arch: "amd64", URL: "https://x", SHA256: "xyz"}}, "sha256"},
		{"bad url", []Archive{{OS: "linux", Arch: "amd64", URL: "ftp://x", SHA256: good.SHA256}}, "url"},
		{"two of one arch", []Archive{good, good}, "one per CPU family"},
	}
	for _, tt := range tests {
		if _, err := Render(m, r, tt.a); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if got := rubyString(`a"b\c#{x}`); got != `"a\"b\\c\#{x}"` {
		t.Errorf("rubyString = %s", got)
	}
}
