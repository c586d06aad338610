package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractTar feeds arbitrary bytes to the tar path of Extract (no
// compression, so the fuzzer reaches the tar and safety logic) and checks
// that it never panics, never writes outside the destination, removes
// the destination on error, and leaves no symlink that resolves outside.
//
//	go test -run '^$' -fuzz FuzzExtractTar -fuzztime 60s ./internal/archive
func FuzzExtractTar(f *testing.F) {
	// A well-formed tree of the shapes packaging/archive writes (its own
	// tests extract what it writes), whole and cut in half.
	var good bytes.Buffer
	tw := tar.NewWriter(&good)
	for _, e := range []struct {
		h    tar.Header
		body string
	}{
		{tar.Header{Name: "pypy/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "pypy/bin/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "pypy/bin/pypy3.9", Typeflag: tar.TypeReg, Mode: 0o755}, "#!/bin/sh\necho hi\n"},
		{tar.Header{Name: "pypy/bin/pypy3", Typeflag: tar.TypeSymlink, Linkname: "pypy3.9", Mode: 0o777}, ""},
		{tar.Header{Name: "pypy/lib/pypy3.9/site.py", Typeflag: tar.TypeReg, Mode: 0o644}, "print('site')\n"},
		{tar.Header{Name: "pypy/lib/pypy3.9/" + strings.Repeat("very_long_module_name_", 8) + ".py", Typeflag: tar.TypeReg, Mode: 0o644}, "x = 1\n"},
		{tar.Header{Name: "pypy/lib/pypy3.9/héllo_wörld.py", Typeflag: tar.TypeReg, Mode: 0o644}, "# utf-8 name\n"},
		{tar.Header{Name: "pypy/lib/empty", Typeflag: tar.TypeReg, Mode: 0o644}, ""},
		{tar.Header{Name: "pypy/lib/hard", Typeflag: tar.TypeLink, Linkname: "pypy/lib/pypy3.9/site.py", Mode: 0o644}, ""},
		{tar.Header{Name: "pypy/README.rst", Typeflag: tar.TypeReg, Mode: 0o644}, strings.Repeat("PyPy is a fast Python.\n", 500)},
	} {
		e.h.Size = int64(len(e.body))
		must(f, tw.WriteHeader(&e.h))
		_, err := tw.Write([]byte(e.body))
		must(f, err)
	}
	must(f, tw.Close())
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()/2])
	for _, hdrs := range [][]*tar.Header{
		{{Name: "top/sub/", Typeflag: tar.TypeDir}, {Name: "top/sub/up", Typeflag: tar.TypeSymlink, Linkname: ".."}, {Name: "top/esc", Typeflag: tar.TypeSymlink, Linkname: "sub/up/../.."}},
		{{Name: "top/x", Typeflag: tar.TypeSymlink, Linkname: "y/../../z"}, {Name: "top/y", Typeflag: tar.TypeSymlink, Linkname: "."}},
		{{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: "."}, {Name: "top/l/f", Typeflag: tar.TypeReg}},
		{{Name: "top/f", Typeflag: tar.TypeReg}, {Name: "top/h", Typeflag: tar.TypeLink, Linkname: "top/f"}},
		{{Name: "../x", Typeflag: tar.TypeReg}},
	} {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hdrs {
			h.Mode = 0o755
			must(f, tw.WriteHeader(h))
		}
		must(f, tw.Close())
		f.Add(b.Bytes())
	}
	// One fixed scratch path, emptied before each run: t.TempDir's
	// growing counter and MkdirTemp's random names would make coverage
	// differ between identical inputs and stall the fuzzer.
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		root := filepath.Join(base, "run")
		openUp(root)
		must(t, os.RemoveAll(root))
		must(t, os.Mkdir(root, 0o755))
		defer openUp(root)
		dest := filepath.Join(root, "d")
		opt := ExtractOptions{StripComponents: len(data) % 2}
		err := extractInto(context.Background(), dest, opt, func() {}, func(x *extractor) error {
			return x.readTar(bytes.NewReader(data), formatTar)
		})
		ents, _ := os.ReadDir(root)
		if err != nil {
			if len(ents) != 0 {
				t.Fatalf("error %v, but %v left in the parent", err, ents)
			}
			return
		}
		if len(ents) != 1 || ents[0].Name() != "d" {
			t.Fatalf("extraction wrote outside the destination: %v", ents)
		}
		realDest, err := filepath.EvalSymlinks(dest)
		must(t, err)
		filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			// Dangling links and loops cannot be followed anywhere; a link
			// that resolves must stay inside.
			if real, err := filepath.EvalSymlinks(p); err == nil && real != realDest && !strings.HasPrefix(real, realDest+"/") {
				t.Fatalf("symlink %s resolves to %s, outside %s", p, real, realDest)
			}
			return nil
		})
	})
}

// openUp makes every directory under root writable, so read-only
// directories from an archive can be removed.
func openUp(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
}
