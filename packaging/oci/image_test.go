package oci

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// fixture is a release with fake amd64 and arm64 trees and an archive
// serving a small Debian for both.
type fixture struct {
	m       *platforms.Matrix
	r       *platforms.Release
	archive *fakeArchive
	trees   map[string]string
	lock    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Release("")
	if err != nil {
		t.Fatal(err)
	}
	pkgs := append(basePkgs("amd64"), basePkgs("arm64")...)
	f := &fixture{m: m, r: r, archive: newFakeArchive(t, pkgs), trees: map[string]string{}}
	for _, arch := range []string{"amd64", "arm64"} {
		root := filepath.Join(t.TempDir(), "pypy3.9-v7.3.11-"+arch)
		makeTree(t, root, arch)
		f.trees[arch] = root
	}
	f.lock = filepath.Join(t.TempDir(), "oci-lock.yaml")
	return f
}

func (f *fixture) inputs(t *testing.T) []Input {
	t.Helper()
	var out []Input
	for _, name := range []string{"linux-amd64", "linux-arm64"} {
		tg, err := f.m.Target(name)
		if err != nil {
			t.Fatal(err)
		}
		meta := &vm.Metadata{RuntimeDepends: []string{"libc6 (>= 2.35)", "libffi8 (>= 3.4)"}}
		out = append(out, Input{Target: tg, Tree: f.trees[tg.DebianArch], VM: meta, Inputs: []vm.Input{
			{Name: "pypy3", Version: "7.3.11+dfsg-2+deb12u3", Arch: tg.DebianArch, SHA256: sumA},
			{Name: "pip-23.0.1-py3-none-any.whl", Version: "23.0.1", SHA256: sumA},
		}})
	}
	return out
}

func (f *fixture) build(t *testing.T, mod func(o *Options)) (*Result, error) {
	t.Helper()
	l, err := LoadLock(f.lock)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Release: f.r, Project: f.m.Project, Inputs: f.inputs(t), Lock: l, Archive: f.archive,
		CacheDir: filepath.Join(t.TempDir(), "debs"), WorkDir: t.TempDir(), Builder: "test",
	}
	if mod != nil {
		mod(&o)
	}
	return Build(context.Background(), o)
}

// layerFiles reads a layer back as tar headers and contents by path.
func layerFiles(t *testing.T, l v1.Layer) ([]*tar.Header, map[string]string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var hs []*tar.Header
	body := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		b, _ := io.ReadAll(tr)
		body[strings.TrimSuffix(h.Name, "/")] = string(b)
	}
	return hs, body
}

// TestBuildReproducible builds twice from the same inputs, the second
// time with the lock read back, the trees' mtimes and permission bits
// changed, bytecode caches added, the inputs in the other order and
// another work directory:
// the index digest must not move. The index lists both platforms.
func TestBuildReproducible(t *testing.T) {
	f := newFixture(t)
	first, err := f.build(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !first.LockChanged {
		t.Errorf("the first build did not record the lock")
	}
	l, err := LoadLock(f.lock)
	if err != nil || len(l.Packages["amd64"]) == 0 || len(l.Packages["arm64"]) == 0 {
		t.Fatalf("lock after the first build: %+v, %v", l, err)
	}
	for _, root := range f.trees {
		// An interpreter run leaves bytecode caches behind; they stay out.
		cache := filepath.Join(root, "lib", "pypy3.9", "__pycache__")
		os.MkdirAll(cache, 0o755)
		os.WriteFile(filepath.Join(cache, "os.pypy39.pyc"), []byte("bytecode"), 0o644)
		os.WriteFile(filepath.Join(root, "lib", "pypy3.9", "stray.pyc"), []byte("bytecode"), 0o644)
		old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if info.Mode().IsRegular() {
				os.Chmod(p, info.Mode().Perm()&0o700)
			}
			os.Chtimes(p, old, old)
			return nil
		})
	}
	second, err := f.build(t, func(o *Options) { o.Inputs[0], o.Inputs[1] = o.Inputs[1], o.Inputs[0] })
	if err != nil {
		t.Fatal(err)
	}
	if second.LockChanged {
		t.Errorf("the second build rewrote the lock")
	}
	if first.Digest != second.Digest {
		t.Fatalf("index digests differ: %s vs %s", first.Digest, second.Digest)
	}
	if string(first.Provenance) != string(second.Provenance) || string(first.Images[0].SBOM) != string(second.Images[0].SBOM) {
		t.Errorf("SBOM or provenance differ between identical builds")
	}
	im, err := second.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.String())
		if d.ArtifactType != "" {
			t.Errorf("index entry %s has artifactType %q", d.Digest, d.ArtifactType)
		}
	}
	if strings.Join(plats, " ") != "linux/amd64 linux/arm64/v8" {
		t.Errorf("index platforms: %v", plats)
	}
	if im.Annotations["org.opencontainers.image.created"] != "2022-12-29T00:00:00Z" {
		t.Errorf("index annotations: %v", im.Annotations)
	}

	// The user option changes the config, and so the digest.
	asPyPy, err := f.build(t, func(o *Options) { o.User = PyPyUser })
	if err != nil {
		t.Fatal(err)
	}
	if asPyPy.Digest == first.Digest {
		t.Errorf("--user pypy gave the same index")
	}
	cfg, _ := asPyPy.Images[0].Image.ConfigFile()
	if cfg.Config.User != "1000:1000" || cfg.Config.WorkingDir != "/home/pypy" {
		t.Errorf("user pypy config: %+v", cfg.Config)
	}
}

// TestImageContents reads the amd64 image back: the base is a merged-/usr
// Debian without docs or scripts, with what maintainer scripts would
// have made; the tree is at /opt/pypy; every entry is normalised.
func TestImageContents(t *testing.T) {
	f := newFixture(t)
	res, err := f.build(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := res.Images[0]
	if img.Target != "linux-amd64" {
		t.Fatalf("first image is %s", img.Target)
	}
	layers, err := img.Image.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	sde := time.Unix(f.r.SourceDateEpoch, 0)
	for i, l := range layers {
		hs, _ := layerFiles(t, l)
		for j, h := range hs {
			if !h.ModTime.Equal(sde) || h.Uname != "" || h.Gname != "" || len(h.PAXRecords) > 0 && h.PAXRecords["mtime"] != "" {
				t.Errorf("layer %d: %s: mtime %v, owner %q/%q", i, h.Name, h.ModTime, h.Uname, h.Gname)
			}
			if h.Uid != 0 && h.Name != "home/pypy/" {
				t.Errorf("layer %d: %s owned by %d", i, h.Name, h.Uid)
			}
			if j > 0 && strings.TrimSuffix(hs[j-1].Name, "/") >= strings.TrimSuffix(h.Name, "/") {
				t.Errorf("layer %d: %s after %s", i, h.Name, hs[j-1].Name)
			}
		}
	}
	baseHs, base := layerFiles(t, layers[0])
	headers := map[string]*tar.Header{}
	for _, h := range baseHs {
		headers[strings.TrimSuffix(h.Name, "/")] = h
	}
	present := []string{
		"usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib64/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/libffi.so.8",
		"usr/share/doc/libc6/copyright", "usr/share/zoneinfo/Etc/UTC", "usr/lib/locale/C.utf8/LC_CTYPE",
		"usr/sbin/ldconfig", "usr/lib/terminfo/x/xterm", "etc/services", "var/lib/dpkg/status.d/libc6", "tmp", "root", "proc", "dev", "sys",
	}
	for _, p := range present {
		if headers[p] == nil {
			t.Errorf("base layer lacks /%s", p)
		}
	}
	absent := []string{
		"usr/share/doc/libc6/changelog.Debian.gz", "usr/share/lintian/overrides/libc6", "usr/share/man/man8/tzconfig.8.gz",
		"usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", "usr/bin/ldd", "usr/sbin/update-ca-certificates",
		"usr/bin/openssl", "var/lib/dpkg/status.d/openssl", "var/lib/dpkg/status.d/debconf", "lib/x86_64-linux-gnu", "lib64/ld-linux-x86-64.so.2",
	}
	for _, p := range absent {
		if headers[p] != nil {
			t.Errorf("base layer has /%s", p)
		}
	}
	links := map[string]string{
		"lib": "usr/lib", "lib64": "usr/lib64", "bin": "usr/bin", "sbin": "usr/sbin",
		"etc/localtime": "/usr/share/zoneinfo/Etc/UTC", "usr/lib/ssl/cert.pem": CABundle,
	}
	for p, target := range links {
		if h := headers[p]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != target {
			t.Errorf("/%s should link to %s: %+v", p, target, h)
		}
	}
	modes := map[string]int64{"tmp": 0o1777, "root": 0o700, "usr/sbin/ldconfig": 0o755, "etc/passwd": 0o644, "usr/lib/x86_64-linux-gnu/libc.so.6": 0o644}
	for p, mode := range modes {
		if h := headers[p]; h == nil || h.Mode != mode {
			t.Errorf("/%s mode %o, want %o", p, h.Mode, mode)
		}
	}
	if h := headers["home/pypy"]; h == nil || h.Uid != PyPyUID || h.Gid != PyPyUID {
		t.Errorf("/home/pypy: %+v", h)
	}
	wantBundle := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
	if got := base[strings.TrimPrefix(CABundle, "/")]; got != wantBundle {
		t.Errorf("CA bundle:\n%s\nwant\n%s", got, wantBundle)
	}
	if !strings.Contains(base["etc/passwd"], "pypy:x:1000:1000:") || !strings.HasPrefix(base["etc/group"], "root:x:0:\n") {
		t.Errorf("passwd/group: %q %q", base["etc/passwd"], base["etc/group"])
	}
	if !strings.Contains(base["etc/nsswitch.conf"], "hosts: files dns") {
		t.Errorf("nsswitch.conf: %q", base["etc/nsswitch.conf"])
	}
	if st := base["var/lib/dpkg/status.d/libc6"]; !strings.HasPrefix(st, "Package: libc6\nStatus: install ok installed\n") || !strings.Contains(st, "Version: 2.36-9+deb12u14\n") {
		t.Errorf("status.d/libc6:\n%s", st)
	}

	treeHs, tree := layerFiles(t, layers[1])
	th := map[string]*tar.Header{}
	for _, h := range treeHs {
		th[strings.TrimSuffix(h.Name, "/")] = h
	}
	if treeHs[0].Name != "opt/" || treeHs[1].Name != "opt/pypy/" {
		t.Errorf("tree layer starts with %s, %s", treeHs[0].Name, treeHs[1].Name)
	}
	if h := th["opt/pypy/bin/pypy3"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "pypy3.9" {
		t.Errorf("opt/pypy/bin/pypy3: %+v", h)
	}
	if h := th["opt/pypy/bin/pypy3.9"]; h == nil || h.Mode != 0o755 {
		t.Errorf("launcher mode: %+v", h)
	}
	if h := th["opt/pypy/lib/pypy3.9/os.py"]; h == nil || h.Mode != 0o644 || tree["opt/pypy/lib/pypy3.9/os.py"] != "import sys\n" {
		t.Errorf("stdlib file: %+v", h)
	}

	cfg, err := img.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(cfg.Config.Env, "\n")
	for _, want := range []string{"PATH=/opt/pypy/bin:", "LANG=C.UTF-8", "SSL_CERT_FILE=" + CABundle} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s: %v", want, cfg.Config.Env)
		}
	}
	if strings.Join(cfg.Config.Cmd, " ") != "pypy3" || cfg.Config.User != "" || !cfg.Created.Time.Equal(sde) || cfg.Architecture != "amd64" {
		t.Errorf("config: %+v", cfg)
	}
	if len(cfg.History) != 2 || !cfg.History[1].Created.Time.Equal(sde) || !strings.Contains(cfg.History[1].CreatedBy, "/opt/pypy") {
		t.Errorf("history: %+v", cfg.History)
	}
	if cfg.Config.Labels["org.opencontainers.image.source"] != "https://github.com/pypy/pypy" || cfg.Config.Labels["org.opencontainers.image.licenses"] != "MIT" {
		t.Errorf("labels: %v", cfg.Config.Labels)
	}
	m, _ := img.Image.Manifest()
	if m.Annotations["org.opencontainers.image.version"] != "7.3.11" || m.Annotations["org.opencontainers.image.revision"] == "" {
		t.Errorf("manifest annotations: %v", m.Annotations)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(t *testing.T, f *fixture, o *Options)
		want string
	}{
		{"lock lacks a new need", func(t *testing.T, f *fixture, o *Options) {
			root := filepath.Join(t.TempDir(), "tree")
			makeTree(t, root, "amd64", "libssl.so.3")
			o.Inputs[0].Tree = root
		}, "has no amd64 pin for libssl3 (ships libssl.so.3, needed by bin/libpypy3.9-c.so): rerun with --update-lock"},
		{"archive lacks a new need", func(t *testing.T, f *fixture, o *Options) {
			root := filepath.Join(t.TempDir(), "tree")
			makeTree(t, root, "amd64", "libssl.so.3")
			o.Inputs[0].Tree = root
			o.UpdateLock = true
		}, "package libssl3 (ships libssl.so.3, needed by bin/libpypy3.9-c.so) has no amd64 candidate"},
		{"library outside the table", func(t *testing.T, f *fixture, o *Options) {
			root := filepath.Join(t.TempDir(), "tree")
			makeTree(t, root, "amd64", "libweird.so.7")
			o.Inputs[0].Tree = root
			o.UpdateLock = true
		}, "bin/libpypy3.9-c.so needs libweird.so.7, which no base package provides: add the package with --package"},
		{"tree of the other architecture", func(t *testing.T, f *fixture, o *Options) {
			o.Inputs[0].Tree = f.trees["arm64"]
		}, "wrong tree for this target"},
		{"unknown user", func(t *testing.T, f *fixture, o *Options) { o.User = "nobody" }, `user "nobody"`},
		{"not linux", func(t *testing.T, f *fixture, o *Options) {
			tg, _ := f.m.Target("macos-arm64")
			o.Inputs[0].Target = tg
		}, "Linux targets"},
		{"pinned digest differs", func(t *testing.T, f *fixture, o *Options) {
			l := o.Lock
			for i, p := range l.Packages["amd64"] {
				if p.Name == "libffi8" {
					l.Packages["amd64"][i].SHA256 = sumA
				}
			}
		}, "base package libffi8_3.4.4-1_amd64.deb does not match the OCI lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if _, err := f.build(t, nil); err != nil {
				t.Fatal(err)
			}
			_, err := f.build(t, func(o *Options) { tt.mod(t, f, o) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
