package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func tree(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	files := map[string]string{
		"bin/pypy3.9":         "#!/bin/sh\necho hi\n",
		"lib/pypy3.9/site.py": "print('site')\n",
		"lib/pypy3.9/" + strings.Repeat("long", 40) + ".py": "x = 1\n",
		"a-b": "dash sorts before slash\n",
	}
	for n, b := range files {
		p := filepath.Join(d, n)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, []byte(b), 0o600)
	}
	os.Chmod(filepath.Join(d, "bin/pypy3.9"), 0o700)
	os.Symlink("pypy3.9", filepath.Join(d, "bin/pypy3"))
	os.MkdirAll(filepath.Join(d, "lib/pypy3.9/site-packages"), 0o700)
	return d
}

func TestRoundTripWithRealTools(t *testing.T) {
	src := tree(t)
	checks := map[Format]string{
		TarBz2: "bzip2 -t %s && tar tjf %s",
		TarGz:  "gzip -t %s && tar tzf %s",
		TarXz:  "xz -t %s && tar tJf %s",
		TarZst: "zstd -q -t %s && tar --zstd -tf %s",
		Zip:    "unzip -tq %s && unzip -l %s",
	}
	for f, check := range checks {
		t.Run(string(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x."+string(f))
			if err := WriteFile(context.Background(), out, src, "top", f, Options{SourceDateEpoch: 1672272000}); err != nil {
				t.Fatal(err)
			}
			tool := strings.Fields(check)[0]
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s not installed", tool)
			}
			cmd := exec.Command("sh", "-c", strings.ReplaceAll(check, "%s", out))
			b, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(b), "top/bin/pypy3.9") {
				t.Fatalf("%s: %v\n%s", check, err, b)
			}
			dest := filepath.Join(t.TempDir(), "x")
			if err := Extract(context.Background(), out, dest, ExtractOptions{}); err != nil {
				t.Fatal(err)
			}
			if l, err := os.Readlink(filepath.Join(dest, "top/bin/pypy3")); err != nil || l != "pypy3.9" {
				t.Fatalf("symlink: %q %v", l, err)
			}
			fi, err := os.Stat(filepath.Join(dest, "top/bin/pypy3.9"))
			if err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("exec mode: %v %v", fi, err)
			}
			if fi, _ := os.Stat(filepath.Join(dest, "top/lib/pypy3.9/site.py")); fi.Mode().Perm() != 0o644 || fi.ModTime().Unix() != 1672272000 {
				t.Fatalf("file mode/mtime: %v %v", fi.Mode(), fi.ModTime())
			}
		})
	}
}

func TestGNUTarListsOwnersAndOrder(t *testing.T) {
	src := tree(t)
	var b bytes.Buffer
	if err := Write(context.Background(), &b, src, "top", TarGz, Options{SourceDateEpoch: 1}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.tar.gz")
	os.WriteFile(p, b.Bytes(), 0o644)
	out, err := exec.Command("tar", "--numeric-owner", "-tvzf", p).CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var names []string
	for _, l := range lines {
		if !strings.Contains(l, " 0/0 ") {
			t.Errorf("not owned by 0/0: %s", l)
		}
		f := strings.Fields(l)
		names = append(names, f[5])
	}
	for i := 1; i < len(names); i++ {
		if strings.TrimSuffix(names[i-1], "/") >= strings.TrimSuffix(names[i], "/") {
			t.Errorf("not sorted: %s before %s", names[i-1], names[i])
		}
	}
}

// TestDeterministicAcrossUmaskAndWorkers: what the build host's umask and
// the worker count are must not show in the bytes.
func TestDeterministic(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var outs [][]byte
			for i, w := range []int{1, 4} {
				src := tree(t)
				if i == 1 { // same content, looser modes
					filepath.Walk(src, func(p string, fi os.FileInfo, _ error) error {
						if fi.Mode()&os.ModeSymlink == 0 {
							extra := os.FileMode(0o066)
							if fi.IsDir() {
								extra = 0o077
							}
							os.Chmod(p, fi.Mode().Perm()|extra)
						}
						return nil
					})
				}
				var b bytes.Buffer
				if err := Write(context.Background(), &b, src, "top", f, Options{SourceDateEpoch: 1672272000, Workers: w}); err != nil {
					t.Fatal(err)
				}
				outs = append(outs, b.Bytes())
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Fatal("bytes differ")
			}
		})
	}
}

func maliciousTar(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "evil.tar.gz")
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 2
		}
		h.Mode = 0o644
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	cmd := exec.Command("gzip", "-c")
	cmd.Stdin = &raw
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, out, 0o644)
	return p
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg} }
	cases := []struct {
		name string
		hdrs []*tar.Header
	}{
		{"dotdot", []*tar.Header{reg("top/../../escape")}},
		{"absolute", []*tar.Header{reg("/etc/evil")}},
		{"symlink out", []*tar.Header{{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: "../../outside"}}},
		{"symlink absolute", []*tar.Header{{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}}},
		{"write through symlink", []*tar.Header{{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: ".."}, {Name: "top/d", Typeflag: tar.TypeSymlink, Linkname: "l/.."}, reg("top/d/x")}},
		{"hardlink out", []*tar.Header{{Name: "top/h", Typeflag: tar.TypeLink, Linkname: "../etc/passwd"}}},
		{"hardlink missing", []*tar.Header{{Name: "top/h", Typeflag: tar.TypeLink, Linkname: "top/nothing"}}},
		{"device", []*tar.Header{{Name: "top/dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}},
		{"fifo", []*tar.Header{{Name: "top/fifo", Typeflag: tar.TypeFifo}}},
		{"duplicate", []*tar.Header{reg("top/a"), reg("top/a")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			err := Extract(context.Background(), maliciousTar(t, c.hdrs...), dest, ExtractOptions{})
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want UnsafeEntryError", err)
			}
			ents, _ := os.ReadDir(parent)
			left, _ := os.ReadDir(dest)
			if len(ents) != 1 || len(left) != 0 {
				t.Fatalf("left behind: parent %v, dest %v", ents, left)
			}
		})
	}
}

func TestExtractRefusesZipSlip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "slip.zip")
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("../../evil.txt")
	w.Write([]byte("x"))
	zw.Close()
	os.WriteFile(p, b.Bytes(), 0o644)
	var ue *UnsafeEntryError
	if err := Extract(context.Background(), p, filepath.Join(t.TempDir(), "d"), ExtractOptions{}); !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
}

func TestExtractTruncated(t *testing.T) {
	src := tree(t)
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			Write(context.Background(), &b, src, "top", f, Options{})
			p := filepath.Join(t.TempDir(), "x."+string(f))
			os.WriteFile(p, b.Bytes()[:b.Len()/2], 0o644)
			err := Extract(context.Background(), p, filepath.Join(t.TempDir(), "d"), ExtractOptions{})
			if err == nil || !strings.Contains(err.Error(), "x."+string(f)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzExtractTarGz(f *testing.F) {
	var b bytes.Buffer
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
	Write(context.Background(), &b, dir, "top", TarGz, Options{})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.tar.gz")
		os.WriteFile(p, data, 0o644)
		Extract(context.Background(), p, filepath.Join(t.TempDir(), "d"), ExtractOptions{})
	})
}
