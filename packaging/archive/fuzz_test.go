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
//	go test -run '^$' -fuzz FuzzExtractTar -fuzztime 60s ./packaging/archive
func FuzzExtractTar(f *testing.F) {
	src := makeTree(f, "", 0)
	entries, err := scanTree(src, "pypy")
	must(f, err)
	var good bytes.Buffer
	must(f, writeTar(context.Background(), &good, entries, testEpoch))
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
