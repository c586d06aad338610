package deb

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

func buildSmall(t *testing.T, tree string, m *platforms.Matrix, r *platforms.Release, tg *platforms.Target, mod func(*Options)) *Result {
	t.Helper()
	o := Options{Tree: tree, Release: r, Target: tg, Project: m.Project, OutDir: t.TempDir()}
	if mod != nil {
		mod(&o)
	}
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBuildMetadata reads the package back with dpkg-deb, as a user would.
func TestBuildMetadata(t *testing.T) {
	needTool(t, "dpkg-deb", "md5sum")
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	res := buildSmall(t, tree, m, r, tg, nil)

	if want := "pypy3.9-v7.3.11_7.3.11-1_" + tg.DebianArch + ".deb"; res.Name != want {
		t.Errorf("file name %s, want %s", res.Name, want)
	}
	fields := []struct{ name, want string }{
		{"Package", "pypy3.9-v7.3.11"},
		{"Version", "7.3.11-1"},
		{"Architecture", tg.DebianArch},
		{"Maintainer", m.Project.Maintainer},
		{"Section", "interpreters"},
		{"Priority", "optional"},
		{"Homepage", m.Project.Homepage},
	}
	for _, f := range fields {
		if got := strings.TrimSpace(run(t, "", "dpkg-deb", "-f", res.Path, f.name)); got != f.want {
			t.Errorf("%s: %q, want %q", f.name, got, f.want)
		}
	}
	info := run(t, "", "dpkg-deb", "-I", res.Path)
	for _, want := range []string{"Installed-Size: ", "Description: fast Python 3.9 interpreter", " postinst ", " prerm ", " md5sums "} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	depends := strings.TrimSpace(run(t, "", "dpkg-deb", "-f", res.Path, "Depends"))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(^|, )libc6 \(>= 2\.[0-9]+\)`),
		regexp.MustCompile(`(^|, )zlib1g( \(>= [^)]+\))?(,|$)`),
		regexp.MustCompile(`(^|, )libsqlite3-0( \(>= [^)]+\))?(,|$)`),
	} {
		if !want.MatchString(depends) {
			t.Errorf("Depends %q does not match %s", depends, want)
		}
	}
	if strings.Contains(depends, "libpypy") {
		t.Errorf("Depends %q names the bundled libpypy", depends)
	}

	contents := run(t, "", "dpkg-deb", "-c", res.Path)
	prefix := "./opt/pypy/pypy3.9-v7.3.11/"
	for _, want := range []string{
		"-rwxr-xr-x root/root .* " + regexp.QuoteMeta(prefix+"bin/pypy3.9") + "\n",
		"-rw-r--r-- root/root .* " + regexp.QuoteMeta(prefix+"bin/libpypy3.9-c.so") + "\n",
		"lrwxrwxrwx root/root .* " + regexp.QuoteMeta(prefix+"bin/pypy3 -> pypy3.9") + "\n",
		regexp.QuoteMeta(prefix + "lib/pypy3.9/EXTERNALLY-MANAGED"),
		regexp.QuoteMeta(prefix + "lib/pypy3.9/site-packages/README"),
		regexp.QuoteMeta("./usr/share/doc/pypy3.9-v7.3.11/copyright"),
		regexp.QuoteMeta("./usr/share/doc/pypy3.9-v7.3.11/changelog.Debian.gz"),
		regexp.QuoteMeta("./usr/share/lintian/overrides/pypy3.9-v7.3.11"),
		` 2022-12-29 00:00 \./\n`,
	} {
		if !regexp.MustCompile(want).MatchString(contents) {
			t.Errorf("dpkg-deb -c lacks %s:\n%s", want, contents)
		}
	}
	if strings.Contains(contents, "./usr/bin/") {
		t.Errorf("the package ships /usr/bin entries; they belong to update-alternatives:\n%s", contents)
	}

	// Unpack with dpkg-deb and let md5sum check the md5sums file.
	x := t.TempDir()
	run(t, "", "dpkg-deb", "-x", res.Path, x)
	ctl := t.TempDir()
	run(t, "", "dpkg-deb", "-e", res.Path, ctl)
	out := run(t, x, "md5sum", "--quiet", "-c", filepath.Join(ctl, "md5sums"))
	if out != "" {
		t.Errorf("md5sum -c: %s", out)
	}
	n := strings.Count(string(must(os.ReadFile(filepath.Join(ctl, "md5sums")))), "\n")
	files := 0
	filepath.WalkDir(x, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if n != files {
		t.Errorf("md5sums lists %d files, the package has %d", n, files)
	}
	// The tree's files arrive unchanged.
	for _, rel := range []string{"bin/pypy3.9", "bin/libpypy3.9-c.so", "LICENSE"} {
		a := must(os.ReadFile(filepath.Join(tree, rel)))
		b := must(os.ReadFile(filepath.Join(x, "opt/pypy/pypy3.9-v7.3.11", rel)))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after unpacking", rel)
		}
	}

	// changelog.Debian.gz: gzip -9n (no name, mtime 0), dated from
	// SOURCE_DATE_EPOCH, and naming the package version.
	gz := must(os.ReadFile(filepath.Join(x, "usr/share/doc/pypy3.9-v7.3.11/changelog.Debian.gz")))
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("changelog gzip header has name %q, mtime %v", zr.Name, zr.ModTime)
	}
	cl := string(must(io.ReadAll(zr)))
	if !strings.HasPrefix(cl, "pypy3.9-v7.3.11 (7.3.11-1) ") || !strings.Contains(cl, "Thu, 29 Dec 2022 00:00:00 +0000") {
		t.Errorf("changelog:\n%s", cl)
	}
	needTool(t, "dpkg-parsechangelog")
	if out := run(t, "", "sh", "-c", "zcat "+filepath.Join(x, "usr/share/doc/pypy3.9-v7.3.11/changelog.Debian.gz")+" | dpkg-parsechangelog -l- -S Version"); strings.TrimSpace(out) != "7.3.11-1" {
		t.Errorf("dpkg-parsechangelog reads version %q", out)
	}

	// The maintainer scripts are valid sh and register both link groups.
	for _, s := range []string{"postinst", "prerm"} {
		run(t, "", "sh", "-n", filepath.Join(ctl, s))
	}
	post := string(must(os.ReadFile(filepath.Join(ctl, "postinst"))))
	for _, want := range []string{
		"update-alternatives --install /usr/bin/pypy3.9 pypy3.9 /opt/pypy/pypy3.9-v7.3.11/bin/pypy3.9 90703119",
		"update-alternatives --install /usr/bin/pypy3 pypy3 /opt/pypy/pypy3.9-v7.3.11/bin/pypy3.9 90703119",
	} {
		if !strings.Contains(post, want) {
			t.Errorf("postinst lacks %q:\n%s", want, post)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestBuildReproducible builds the same tree twice, the second time from
// a copy with other mtimes, looser modes and under another umask and TZ,
// and compares the bytes.
func TestBuildReproducible(t *testing.T) {
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	a := buildSmall(t, tree, m, r, tg, nil)

	copyDir := filepath.Join(t.TempDir(), filepath.Base(tree))
	run(t, "", "cp", "-a", tree, copyDir)
	run(t, "", "sh", "-c", "find "+copyDir+" -type f -exec touch -d 2031-01-01 {} + && chmod -R g+w "+copyDir)
	t.Setenv("TZ", "Asia/Tokyo")
	b := buildSmall(t, copyDir, m, r, tg, nil)
	if a.SHA256 != b.SHA256 || a.Size != b.Size {
		t.Fatalf("two builds differ: %s (%d) vs %s (%d)", a.SHA256, a.Size, b.SHA256, b.Size)
	}
	if !bytes.Equal(must(os.ReadFile(a.Path)), must(os.ReadFile(b.Path))) {
		t.Fatal("two builds differ")
	}

	// A different tree or epoch must give different bytes (the test above
	// would pass for a writer that ignored its input).
	c := buildSmall(t, tree, m, r, tg, func(o *Options) { o.SourceDateEpoch = r.SourceDateEpoch + 86400 })
	if c.SHA256 == a.SHA256 {
		t.Error("changing SOURCE_DATE_EPOCH did not change the package")
	}
	writeFile(t, filepath.Join(copyDir, "README.rst"), "changed\n", 0o644)
	d := buildSmall(t, copyDir, m, r, tg, nil)
	if d.SHA256 == a.SHA256 {
		t.Error("changing a file did not change the package")
	}
}

// TestBuildMembers checks the ar container member by member, and that
// each compression dpkg reads is accepted by dpkg-deb.
func TestBuildMembers(t *testing.T) {
	needTool(t, "dpkg-deb", "ar")
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	tests := []struct {
		comp    Compression
		members string
	}{
		{XZ, "debian-binary\ncontrol.tar.xz\ndata.tar.xz\n"},
		{Gzip, "debian-binary\ncontrol.tar.gz\ndata.tar.gz\n"},
	}
	for _, tt := range tests {
		res := buildSmall(t, tree, m, r, tg, func(o *Options) { o.Compression = tt.comp })
		if got := run(t, "", "ar", "t", res.Path); got != tt.members {
			t.Errorf("%s: ar t = %q, want %q", tt.comp, got, tt.members)
		}
		if got := run(t, "", "ar", "p", res.Path, "debian-binary"); got != "2.0\n" {
			t.Errorf("debian-binary = %q", got)
		}
		if got := run(t, "", "ar", "tv", res.Path); !strings.Contains(got, "0/0") || !strings.Contains(got, "Dec 29 00:00 2022") {
			t.Errorf("ar members are not 0/0 at SOURCE_DATE_EPOCH:\n%s", got)
		}
		run(t, "", "dpkg-deb", "--fsys-tarfile", res.Path)
		p, err := Open(res.Path)
		if err != nil {
			t.Fatal(err)
		}
		if p.Control.Get("Package") != "pypy3.9-v7.3.11" || p.MTime != r.SourceDateEpoch {
			t.Errorf("Open: %v, mtime %d", p.Control, p.MTime)
		}
	}
	if _, err := ParseCompression("zst"); err == nil {
		t.Error("zstd accepted: lintian calls such packages malformed")
	}
}

// TestLintian runs lintian on a built package: no errors or warnings may
// remain (the overrides the package ships cover the ones that are right
// for a bundled interpreter under /opt).
func TestLintian(t *testing.T) {
	needTool(t, "lintian")
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	res := buildSmall(t, tree, m, r, tg, nil)
	cmd := exec.Command("lintian", "--no-cfg", "--no-tag-display-limit", "--show-overrides", res.Path)
	out, err := cmd.CombinedOutput()
	var bad []string
	overridden := 0
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "E: "), strings.HasPrefix(line, "W: "):
			bad = append(bad, line)
		case strings.HasPrefix(line, "O: "):
			overridden++
		}
	}
	if len(bad) > 0 || (err != nil && len(bad) == 0 && !strings.Contains(string(out), "O: ")) {
		t.Fatalf("lintian (%v):\n%s", err, out)
	}
	// The /opt override is the one every package of ours needs: if it did
	// not apply, the overrides file is not being read at all.
	if !strings.Contains(string(out), "O: pypy3.9-v7.3.11: dir-or-file-in-opt") || overridden == 0 {
		t.Fatalf("lintian applied none of the shipped overrides:\n%s", out)
	}
}

func TestBuildRefuses(t *testing.T) {
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	mac, err := m.Target("macos-arm64")
	if err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{"amd64": "linux-arm64", "arm64": "linux-amd64"}[tg.DebianArch]
	other, err := m.Target(foreign)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"macOS target", func(o *Options) { o.Target = mac }, "Linux targets only"},
		{"wrong arch", func(o *Options) { o.Target = other }, "is an ELF file for"},
		{"no tree", func(o *Options) { o.Tree = t.TempDir() }, "has no bin/pypy3.9"},
		{"bad version", func(o *Options) { o.Version = "latest" }, "must start with a digit"},
		{"no maintainer", func(o *Options) { o.Project.Maintainer = "" }, "Maintainer"},
		{"imported deps missing one", func(o *Options) { o.RuntimeDepends = []string{"libc6 (>= 2.35)"} }, "do not depend on"},
	}
	for _, tt := range tests {
		o := Options{Tree: tree, Release: r, Target: tg, Project: m.Project, OutDir: t.TempDir()}
		tt.mod(&o)
		_, err := Build(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
		if ents, _ := os.ReadDir(o.OutDir); len(ents) > 0 {
			t.Errorf("%s: left %d files in the output dir", tt.name, len(ents))
		}
	}
}

func TestBuildContextCancel(t *testing.T) {
	m, r, tg := hostTarget(t)
	tree := makeTree(t, r, tg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	_, err := Build(ctx, Options{Tree: tree, Release: r, Target: tg, Project: m.Project, OutDir: out})
	if err == nil {
		t.Fatal("a cancelled build succeeded")
	}
	if ents, _ := os.ReadDir(out); len(ents) > 0 {
		t.Errorf("a cancelled build left %d files", len(ents))
	}
}
