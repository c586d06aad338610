package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/debfile"
	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
)

const sum0 = "0000000000000000000000000000000000000000000000000000000000000000"

func TestEmbeddedLockIsValidAndPinned(t *testing.T) {
	l, err := DefaultLock()
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := l.Select("pypy2-bullseye", arch)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"pypy", "gcc-10", "libffi-dev", "libssl-dev", "make", "dash"} {
			if img.Package(want) == "" {
				t.Errorf("%s image lacks %s", arch, want)
			}
		}
	}
	// The canonical form is what the file holds: a rewrite changes nothing.
	if got := l.Marshal(); !bytes.Equal(got, embeddedLock) {
		t.Errorf("embedded lock is not in canonical form (rerun translate image lock)")
	}
}

func TestParseLockRejects(t *testing.T) {
	good := "schema: 1\nimages:\n  - name: x\n    suite: bullseye\n    roots: [pypy]\n    packages:\n      amd64:\n        - {name: pypy, version: \"1\", arch: amd64, sha256: " + sum0 + "}\n"
	if _, err := ParseLock([]byte(good), "l.yaml"); err != nil {
		t.Fatalf("good lock: %v", err)
	}
	cases := []struct{ name, lock, want string }{
		{"schema", strings.Replace(good, "schema: 1", "schema: 2", 1), "schema 2"},
		{"unknown key", strings.Replace(good, "suite:", "sweet: x\n    suite:", 1), "sweet"},
		{"image name", strings.Replace(good, "name: x", "name: ../x", 1), "image name"},
		{"suite", strings.Replace(good, "suite: bullseye", "suite: \"bull seye\"", 1), "suite"},
		{"no roots", strings.Replace(good, "roots: [pypy]", "roots: []", 1), "no roots"},
		{"bad sha", strings.Replace(good, sum0, "abc", 1), "bad pin"},
		{"wrong arch", strings.Replace(good, "arch: amd64", "arch: arm64", 1), "bad pin"},
		{"escaping link", strings.Replace(good, "    packages:", "    links: {../etc/x: y}\n    packages:", 1), "link"},
		{"absolute link", strings.Replace(good, "    packages:", "    links: {/etc/x: y}\n    packages:", 1), "link"},
		{"duplicate", good + "  - name: x\n    suite: bullseye\n    roots: [pypy]\n", "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseLock([]byte(c.lock), "l.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "l.yaml") {
				t.Fatalf("err = %v, want one naming l.yaml and %q", err, c.want)
			}
		})
	}
}

func TestSelectKeyFollowsThePins(t *testing.T) {
	l := &Lock{Schema: 1, Images: []*Spec{{Name: "x", Suite: "bullseye", Roots: []string{"a"},
		Packages: map[string][]platforms.DebPackage{"amd64": {{Name: "a", Version: "1", Arch: "amd64", SHA256: sum0}}}}}}
	a, err := l.Select("x", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.Select("x", "amd64")
	if a.Key != b.Key {
		t.Fatal("same pins, different keys")
	}
	l.Images[0].Packages["amd64"][0].Version = "2"
	c, _ := l.Select("x", "amd64")
	if c.Key == a.Key {
		t.Fatal("another version of a package kept the image key")
	}
	if _, err := l.Select("x", "arm64"); err == nil || !strings.Contains(err.Error(), "translate image lock") {
		t.Fatalf("an unpinned arch should say how to pin it: %v", err)
	}
	if _, err := l.Select("y", "amd64"); err == nil || !strings.Contains(err.Error(), "it has: x") {
		t.Fatalf("unknown image: %v", err)
	}
}

func TestHostMirror(t *testing.T) {
	cases := []struct{ name, file, body, want string }{
		{"deb822", "sources.list.d/debian.sources", "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n", "http://mirror.test/debian"},
		{"one-line with options", "sources.list", "# c\ndeb [signed-by=/k.gpg arch=amd64] http://m.test/debian/ bookworm main\n", "http://m.test/debian"},
		{"security only", "sources.list", "deb http://m.test/debian-security bookworm-security main\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, c.file)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(c.body), 0o644)
			got, err := HostMirror(dir)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), MirrorEnv) {
					t.Fatalf("got %q, %v; want an error naming %s", got, err, MirrorEnv)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// testDeb is a package made by the test, served by fakeArchive.
type testDeb struct {
	name, provides, depends string
	files                   map[string]string // path → content; "->x" makes a symlink to x
}

func makeDeb(t *testing.T, dir string, d testDeb) platforms.DebPackage {
	t.Helper()
	tgz := func(files map[string]string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		tw := tar.NewWriter(zw)
		for _, p := range sortedKeys(files) {
			body := files[p]
			if target, ok := strings.CutPrefix(body, "->"); ok {
				tw.WriteHeader(&tar.Header{Name: "./" + p, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
				continue
			}
			tw.WriteHeader(&tar.Header{Name: "./" + p, Typeflag: tar.TypeReg, Mode: 0o4755, Size: int64(len(body))})
			tw.Write([]byte(body))
		}
		tw.Close()
		zw.Close()
		return b.Bytes()
	}
	ctl := fmt.Sprintf("Package: %s\nVersion: 1\nArchitecture: amd64\n", d.name)
	if d.provides != "" {
		ctl += "Provides: " + d.provides + "\n"
	}
	if d.depends != "" {
		ctl += "Depends: " + d.depends + "\n"
	}
	var deb bytes.Buffer
	aw, _ := debfile.NewArWriter(&deb, 0)
	for _, m := range []struct {
		name string
		body []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", tgz(map[string]string{"control": ctl})}, {"data.tar.gz", tgz(d.files)}} {
		if err := aw.Add(m.name, int64(len(m.body)), bytes.NewReader(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	pin := platforms.DebPackage{Name: d.name, Version: "1", Arch: "amd64"}
	sum := sha256.Sum256(deb.Bytes())
	pin.SHA256 = hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, pin.FileName()), deb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return pin
}

// fakeArchive is an apt stand-in over the test's own .debs.
type fakeArchive struct {
	dir  string
	pkgs map[string]debrepo.Candidate
}

func (a *fakeArchive) Show(_ context.Context, _ string, names []string) (map[string]debrepo.Candidate, error) {
	out := map[string]debrepo.Candidate{}
	for _, n := range names {
		if c, ok := a.pkgs[n]; ok {
			out[n] = c
		}
	}
	return out, nil
}

func (a *fakeArchive) Download(_ context.Context, dir string, pkgs []platforms.DebPackage) error {
	for _, p := range pkgs {
		b, err := os.ReadFile(filepath.Join(a.dir, p.FileName()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.FileName()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func TestResolveAndEnsure(t *testing.T) {
	testtool.Need(t, "bwrap")
	// Debian's ldconfig is static: the host's runs in the fake image,
	// which has no loader of its own.
	ldconfig, err := os.ReadFile("/sbin/ldconfig")
	if err != nil {
		testtool.Missing(t, "/sbin/ldconfig (libc-bin)")
	}
	a := &fakeArchive{dir: t.TempDir(), pkgs: map[string]debrepo.Candidate{}}
	for _, d := range []testDeb{
		{name: "pypy", depends: "libc6, awk", files: map[string]string{"usr/bin/pypy": "->../lib/pypy/bin/pypy-c", "usr/lib/pypy/bin/pypy-c": "elf"}},
		{name: "libc6", depends: "debconf", files: map[string]string{"lib/x86_64-linux-gnu/libc.so.6": "libc", "sbin/ldconfig": string(ldconfig)}},
		{name: "mawk", provides: "awk", files: map[string]string{"usr/bin/mawk": "mawk"}},
		// An escaping symlink directory: nothing may be written through it.
		{name: "evil", files: map[string]string{"usr/share/evil": "->/tmp"}},
	} {
		pin := makeDeb(t, a.dir, d)
		a.pkgs[d.name] = debrepo.Candidate{DebPackage: pin, Depends: d.depends, Provides: d.provides}
	}
	l := &Lock{Schema: 1, Images: []*Spec{{Name: "t", Suite: "bullseye", Roots: []string{"pypy", "mawk", "evil"},
		Links: map[string]string{"usr/bin/awk": "mawk"}}}}
	if err := l.Resolve(context.Background(), a, "t", "amd64"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range l.Images[0].Packages["amd64"] {
		names = append(names, p.Name)
	}
	// awk is met by mawk's Provides; debconf only serves maintainer scripts.
	if want := []string{"evil", "libc6", "mawk", "pypy"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("resolved %v, want %v", names, want)
	}
	img, err := l.Select("t", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewLocal(t.TempDir())
	o := EnsureOptions{Store: st, Archive: a, DebCache: t.TempDir(), LockName: "test"}
	root, hit, err := img.Ensure(context.Background(), o)
	if err != nil || hit {
		t.Fatalf("ensure: %v hit=%v", err, hit)
	}
	// ldconfig ran in the image, as libc-bin's trigger would.
	if _, err := os.Stat(filepath.Join(root, "etc", "ld.so.cache")); err != nil {
		t.Errorf("no ld.so.cache: %v", err)
	}
	for p, want := range map[string]string{"usr/bin/mawk": "mawk", "usr/lib/pypy/bin/pypy-c": "elf", "etc/passwd": "root:x:0:0:"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || !strings.HasPrefix(string(b), want) {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	if target, _ := os.Readlink(filepath.Join(root, "usr/bin/awk")); target != "mawk" {
		t.Errorf("awk link → %q", target)
	}
	st2, _ := os.Stat(filepath.Join(root, "usr/bin/mawk"))
	if st2.Mode().Perm() != 0o755 || st2.Mode()&os.ModeSetuid != 0 {
		t.Errorf("mawk mode %v: want 0755 without setuid", st2.Mode())
	}
	for _, d := range []string{"proc", "dev", "tmp", strings.TrimPrefix(MountWork, "/")} {
		if fi, err := os.Stat(filepath.Join(root, d)); err != nil || !fi.IsDir() {
			t.Errorf("mount point /%s missing", d)
		}
	}
	if _, hit, err := img.Ensure(context.Background(), o); err != nil || !hit {
		t.Fatalf("second ensure: hit=%v %v", hit, err)
	}

	// A .deb that no longer matches its pin is refused before use.
	l.Images[0].Packages["amd64"][0].SHA256 = strings.Repeat("1", 64)
	bad, _ := l.Select("t", "amd64")
	if _, _, err := bad.Ensure(context.Background(), EnsureOptions{Store: st, Archive: a, DebCache: t.TempDir(), LockName: "test"}); err == nil || !strings.Contains(err.Error(), "expected sha256") {
		t.Fatalf("tampered pin: %v", err)
	}
}

func TestSandboxArgv(t *testing.T) {
	got := strings.Join(Sandbox("/img", "/w", "/build/src"), " ")
	for _, want := range []string{"--ro-bind /img /", "--bind /w " + MountWork, "--unshare-all", "--die-with-parent", "--chdir /build/src", "--tmpfs /tmp"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestEnsureRefusesWritesThroughLinks(t *testing.T) {
	outside := t.TempDir()
	a := &fakeArchive{dir: t.TempDir(), pkgs: map[string]debrepo.Candidate{}}
	var pins []platforms.DebPackage
	for _, d := range []testDeb{
		{name: "a-link", files: map[string]string{"usr/share/evil": "->" + outside}},
		{name: "b-file", files: map[string]string{"usr/share/evil/planted": "boom"}},
	} {
		pins = append(pins, makeDeb(t, a.dir, d))
	}
	l := &Lock{Schema: 1, Images: []*Spec{{Name: "t", Suite: "bullseye", Roots: []string{"a-link"},
		Packages: map[string][]platforms.DebPackage{"amd64": pins}}}}
	img, err := l.Select("t", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = img.Ensure(context.Background(), EnsureOptions{Store: store.NewLocal(t.TempDir()), Archive: a, DebCache: t.TempDir(), LockName: "test"})
	if err == nil || !strings.Contains(err.Error(), "usr/share/evil/planted") {
		t.Fatalf("err = %v, want a refusal naming the path", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Fatal("a package wrote outside the image through a symlink")
	}
}
