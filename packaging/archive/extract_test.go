package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/gzip"

	reader "github.com/pypyctl/pypyctl/internal/archive"
)

func TestExtractRoundTrip(t *testing.T) {
	src := makeTree(t, "", 1_100_000)
	want := wantEntries()
	noise, err := os.ReadFile(filepath.Join(src, "lib/noise.txt"))
	must(t, err)
	want["pypy/lib/noise.txt"] = wantEntry{typ: reader.EntryFile, mode: 0o644, body: string(noise)}
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			path := writeArchive(t, src, f, Options{SourceDateEpoch: testEpoch})
			dest := filepath.Join(t.TempDir(), "dest")
			must(t, reader.Extract(context.Background(), path, dest, reader.ExtractOptions{}))
			compareTree(t, dest, want, true)
			fi, err := os.Lstat(filepath.Join(dest, "pypy/bin/pypy3"))
			must(t, err)
			if fi.ModTime().Unix() != testEpoch {
				t.Errorf("symlink mtime %v", fi.ModTime())
			}
		})
	}
}

func TestExtractStripComponents(t *testing.T) {
	src := makeTree(t, "", 0)
	for _, f := range []Format{TarGz, Zip} {
		t.Run(string(f), func(t *testing.T) {
			path := writeArchive(t, src, f, Options{SourceDateEpoch: testEpoch})
			dest := filepath.Join(t.TempDir(), "dest")
			must(t, reader.Extract(context.Background(), path, dest, reader.ExtractOptions{StripComponents: 1}))
			// The hard link target is stripped the same way.
			for _, p := range []string{"bin/pypy3.9", "lib/hard", "a-b", "bin/pypy3"} {
				if _, err := os.Lstat(filepath.Join(dest, p)); err != nil {
					t.Error(err)
				}
			}
			if _, err := os.Lstat(filepath.Join(dest, "pypy")); err == nil {
				t.Error("top directory not stripped")
			}
		})
	}
}

// TestExtractForeignArchives reads archives made by other tools: GNU tar
// (gnu and pax formats, with a hard link), Info-ZIP, Python's zipfile with
// DOS attributes only, and multi-stream bzip2 and gzip.
func TestExtractForeignArchives(t *testing.T) {
	needTool(t, "tar", "zip", "python3", "bzip2", "gzip")
	src := makeTree(t, "", 0)
	// Let the tools see the top directory name "pypy".
	parent := t.TempDir()
	top := filepath.Join(parent, "pypy")
	must(t, os.Rename(src, top))
	dir := t.TempDir()
	gnu := filepath.Join(dir, "gnu.tar.bz2")
	run(t, nil, "tar", "--format=gnu", "-cjf", gnu, "-C", parent, "pypy")
	pax := filepath.Join(dir, "pax.tar.xz")
	needTool(t, "xz")
	run(t, nil, "tar", "--format=pax", "-cJf", pax, "-C", parent, "pypy")
	infozip := filepath.Join(dir, "infozip.zip")
	cmd := []string{"-c", "cd " + parent + " && zip -q -r -y " + infozip + " pypy"}
	run(t, nil, "sh", cmd...)
	dos := filepath.Join(dir, "dos.zip")
	run(t, nil, "python3", "-c", `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    i = zipfile.ZipInfo("pypy/README.rst", (2020, 1, 2, 3, 4, 6))
    i.create_system = 0
    z.writestr(i, "hi")
    d = zipfile.ZipInfo("pypy/lib/", (2020, 1, 2, 3, 4, 6))
    d.create_system = 0
    d.external_attr = 0x10
    z.writestr(d, "")`, dos)
	multiBz2 := filepath.Join(dir, "multi.tar.bz2")
	plain := run(t, nil, "tar", "--format=gnu", "-cf", "-", "-C", parent, "pypy")
	half := len(plain) / 2
	must(t, os.WriteFile(multiBz2, append(run(t, plain[:half], "bzip2", "-9"), run(t, plain[half:], "bzip2", "-1")...), 0o644))
	multiGz := filepath.Join(dir, "multi.tar.gz")
	must(t, os.WriteFile(multiGz, append(run(t, plain[:half], "gzip"), run(t, plain[half:], "gzip")...), 0o644))

	for _, p := range []string{gnu, pax, infozip, multiBz2, multiGz} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "d")
			must(t, reader.Extract(context.Background(), p, dest, reader.ExtractOptions{}))
			b, err := os.ReadFile(filepath.Join(dest, "pypy/lib/hard"))
			if err != nil || string(b) != "print('site')\n" {
				t.Errorf("hard-linked file: %q %v", b, err)
			}
			if l, err := os.Readlink(filepath.Join(dest, "pypy/bin/pypy3")); err != nil || l != "pypy3.9" {
				t.Errorf("symlink: %q %v", l, err)
			}
			fi, err := os.Stat(filepath.Join(dest, "pypy/bin/pypy3.9"))
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("launcher mode: %v %v (tools keep the tree's 0700)", fi, err)
			}
			if _, err := os.Stat(filepath.Join(dest, "pypy", longName)); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("dos.zip", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "d")
		must(t, reader.Extract(context.Background(), dos, dest, reader.ExtractOptions{}))
		for p, mode := range map[string]fs.FileMode{"pypy/README.rst": 0o644, "pypy/lib": fs.ModeDir | 0o755} {
			fi, err := os.Stat(filepath.Join(dest, p))
			if err != nil || fi.Mode() != mode {
				t.Errorf("%s: %v %v, want %v", p, fi, err, mode)
			}
		}
	})
}

// tarGz builds a .tar.gz from headers; regular files get a 2-byte body.
func tarGz(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 2
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		must(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte("hi"))
			must(t, err)
		}
	}
	must(t, tw.Close())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(raw.Bytes())
	must(t, err)
	must(t, zw.Close())
	p := filepath.Join(t.TempDir(), "evil.tar.gz")
	must(t, os.WriteFile(p, gz.Bytes(), 0o644))
	return p
}

type zipMember struct {
	name string
	mode fs.FileMode
	body string
}

func zipFile(t *testing.T, members ...zipMember) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.name, Method: zip.Store}
		h.SetMode(m.mode)
		w, err := zw.CreateHeader(h)
		must(t, err)
		_, err = w.Write([]byte(m.body))
		must(t, err)
	}
	must(t, zw.Close())
	p := filepath.Join(t.TempDir(), "evil.zip")
	must(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func TestExtractRefusesUnsafeEntries(t *testing.T) {
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg} }
	dir := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755} }
	sym := func(n, to string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: to} }
	hard := func(n, to string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeLink, Linkname: to} }
	cases := []struct {
		name   string
		path   func(t *testing.T) string
		reason string
	}{
		{"dotdot", func(t *testing.T) string { return tarGz(t, reg("top/../../escape")) }, `".."`},
		{"dotdot inside", func(t *testing.T) string { return tarGz(t, reg("top/a/../../../x")) }, `".."`},
		{"absolute", func(t *testing.T) string { return tarGz(t, reg("/tmp/pypyctl-evil")) }, "absolute"},
		{"backslash", func(t *testing.T) string { return tarGz(t, reg(`top\..\..\evil`)) }, "backslash"},
		{"symlink absolute", func(t *testing.T) string { return tarGz(t, sym("top/l", "/etc")) }, "outside"},
		{"symlink up", func(t *testing.T) string { return tarGz(t, sym("top/l", "../../outside")) }, "outside"},
		{"symlink up from subdir", func(t *testing.T) string { return tarGz(t, dir("top/a/"), sym("top/a/l", "../../../x")) }, "outside"},
		{"symlink chain", func(t *testing.T) string {
			// up is top/sub/.. = top; esc = top/sub/up/../.. = top/../.. — outside,
			// though it looks like top/ when read as text.
			return tarGz(t, dir("top/sub/"), sym("top/sub/up", ".."), sym("top/esc", "sub/up/../.."))
		}, "outside"},
		{"later link redirects earlier", func(t *testing.T) string {
			// x looks like top/../z = z when written; y = top then makes it
			// top/../../z.
			return tarGz(t, dir("top/"), sym("top/x", "y/../../z"), sym("top/y", "."))
		}, "outside"},
		{"symlink loop", func(t *testing.T) string { return tarGz(t, sym("top/a", "b"), sym("top/b", "a")) }, "levels of symlinks"},
		{"empty symlink", func(t *testing.T) string { return tarGz(t, sym("top/a", "")) }, "empty target"},
		{"write through symlink", func(t *testing.T) string {
			return tarGz(t, dir("top/sub/"), sym("top/l", "sub"), reg("top/l/f"))
		}, "is a symlink"},
		{"write through file", func(t *testing.T) string { return tarGz(t, reg("top/f"), reg("top/f/g")) }, "is a file"},
		{"hardlink out", func(t *testing.T) string { return tarGz(t, hard("top/h", "../etc/passwd")) }, "outside"},
		{"hardlink absolute", func(t *testing.T) string { return tarGz(t, hard("top/h", "/etc/passwd")) }, "outside"},
		{"hardlink missing", func(t *testing.T) string { return tarGz(t, hard("top/h", "top/nothing")) }, "not an earlier entry"},
		{"hardlink to later", func(t *testing.T) string { return tarGz(t, hard("top/h", "top/f"), reg("top/f")) }, "not an earlier entry"},
		{"hardlink to dir", func(t *testing.T) string { return tarGz(t, dir("top/d/"), hard("top/h", "top/d")) }, "not a regular file"},
		{"hardlink to symlink", func(t *testing.T) string { return tarGz(t, sym("top/l", "x"), hard("top/h", "top/l")) }, "not a regular file"},
		{"char device", func(t *testing.T) string {
			return tarGz(t, &tar.Header{Name: "top/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3})
		}, "device"},
		{"block device", func(t *testing.T) string {
			return tarGz(t, &tar.Header{Name: "top/sda", Typeflag: tar.TypeBlock, Devmajor: 8})
		}, "device"},
		{"fifo", func(t *testing.T) string { return tarGz(t, &tar.Header{Name: "top/fifo", Typeflag: tar.TypeFifo}) }, "pipe"},
		{"duplicate file", func(t *testing.T) string { return tarGz(t, reg("top/a"), reg("top/a")) }, "duplicate"},
		{"duplicate dir", func(t *testing.T) string { return tarGz(t, dir("top/"), dir("top/")) }, "duplicate"},
		{"dir over file", func(t *testing.T) string { return tarGz(t, reg("top/a"), dir("top/a/")) }, "duplicate"},
		{"symlink over dir", func(t *testing.T) string { return tarGz(t, dir("top/a/"), sym("top/a", ".")) }, "duplicate"},
		{"zip slip", func(t *testing.T) string { return zipFile(t, zipMember{"../../evil.txt", 0o644, "x"}) }, `".."`},
		{"zip absolute", func(t *testing.T) string { return zipFile(t, zipMember{"/tmp/evil.txt", 0o644, "x"}) }, "absolute"},
		{"zip drive letter", func(t *testing.T) string { return zipFile(t, zipMember{"C:/evil.txt", 0o644, "x"}) }, "drive"},
		{"zip symlink out", func(t *testing.T) string {
			return zipFile(t, zipMember{"top/l", fs.ModeSymlink | 0o777, "../../x"})
		}, "outside"},
		{"zip device", func(t *testing.T) string {
			return zipFile(t, zipMember{"top/null", fs.ModeDevice | fs.ModeCharDevice | 0o666, ""})
		}, "device"},
		{"zip duplicate", func(t *testing.T) string {
			return zipFile(t, zipMember{"top/a", 0o644, "1"}, zipMember{"top/a", 0o644, "2"})
		}, "duplicate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			archivePath := c.path(t)
			for _, existing := range []bool{false, true} {
				root := t.TempDir()
				dest := filepath.Join(root, "x/y/dest")
				if existing {
					must(t, os.MkdirAll(dest, 0o755))
				}
				err := reader.Extract(context.Background(), archivePath, dest, reader.ExtractOptions{})
				var ue *reader.UnsafeEntryError
				if !errors.As(err, &ue) || !strings.Contains(ue.Reason, c.reason) {
					t.Fatalf("err = %v, want an UnsafeEntryError about %q", err, c.reason)
				}
				if !strings.Contains(err.Error(), archivePath) {
					t.Errorf("error does not name the archive: %v", err)
				}
				// Nothing anywhere under root but the (empty) destination.
				var left []string
				filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					if p != root && p != filepath.Join(root, "x") && p != filepath.Join(root, "x/y") && !(existing && p == dest) {
						left = append(left, p)
					}
					return nil
				})
				if len(left) > 0 {
					t.Fatalf("left behind: %v", left)
				}
			}
		})
	}
}

// TestExtractRefusesSparse: GNU tar's sparse files (both encodings) are
// refused, since a tiny archive could otherwise fill the disk.
func TestExtractRefusesSparse(t *testing.T) {
	needTool(t, "tar")
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.img"))
	must(t, err)
	_, err = f.WriteAt([]byte("x"), 64<<20)
	must(t, err)
	must(t, f.Close())
	for _, format := range []string{"gnu", "pax"} {
		t.Run(format, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), format+".tar.gz")
			run(t, nil, "tar", "--sparse", "--format="+format, "-czf", p, "-C", dir, "big.img")
			err := reader.Extract(context.Background(), p, filepath.Join(t.TempDir(), "d"), reader.ExtractOptions{})
			var ue *reader.UnsafeEntryError
			if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "sparse") {
				t.Fatalf("err = %v, want a refused sparse entry", err)
			}
		})
	}
}

func TestExtractModes(t *testing.T) {
	p := tarGz(t,
		&tar.Header{Name: "top/", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: "top/ro/", Typeflag: tar.TypeDir, Mode: 0o555},
		&tar.Header{Name: "top/ro/suid", Typeflag: tar.TypeReg, Mode: 0o4755},
		&tar.Header{Name: "top/ro/sgid", Typeflag: tar.TypeReg, Mode: 0o2644 | 0o1000},
		&tar.Header{Name: "top/implicit/f", Typeflag: tar.TypeReg, Mode: 0o600},
		&tar.Header{Name: "top/late/f", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "top/late/", Typeflag: tar.TypeDir, Mode: 0o750},
	)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dest := filepath.Join(t.TempDir(), "d")
	must(t, reader.Extract(context.Background(), p, dest, reader.ExtractOptions{}))
	defer os.Chmod(filepath.Join(dest, "top/ro"), 0o755) // let TempDir clean up
	for rel, want := range map[string]fs.FileMode{
		"top/ro":         fs.ModeDir | 0o555,
		"top/ro/suid":    0o755,
		"top/ro/sgid":    0o644,
		"top/implicit":   fs.ModeDir | 0o755,
		"top/implicit/f": 0o600,
		"top/late":       fs.ModeDir | 0o750,
	} {
		fi, err := os.Lstat(filepath.Join(dest, rel))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want %v", rel, fi, err, want)
		}
	}
}

func TestExtractDestination(t *testing.T) {
	p := writeArchive(t, makeTree(t, "", 0), TarGz, Options{SourceDateEpoch: testEpoch})
	full := t.TempDir()
	must(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, 0o644))
	cases := []struct {
		name, dest, want string
	}{
		{"not empty", full, "not empty"},
		{"a file", file, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := reader.Extract(context.Background(), p, c.dest, reader.ExtractOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(full, "x")); err != nil {
		t.Fatal("a refused destination was touched")
	}
	if err := reader.Extract(context.Background(), p+".rar", t.TempDir(), reader.ExtractOptions{}); err == nil {
		t.Fatal("unknown extension accepted")
	}
}

func TestExtractTruncatedOrCorrupt(t *testing.T) {
	src := makeTree(t, "", 600_000)
	for _, f := range AllFormats() {
		good, err := os.ReadFile(writeArchive(t, src, f, Options{SourceDateEpoch: testEpoch}))
		must(t, err)
		flipped := bytes.Clone(good)
		flipped[len(good)*2/3] ^= 0x55
		for name, data := range map[string][]byte{
			"10 bytes":   good[:10],
			"half":       good[:len(good)/2],
			"last byte":  good[:len(good)-1],
			"bit flip":   flipped,
			"empty file": {},
		} {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "broken"+f.Ext())
				must(t, os.WriteFile(p, data, 0o644))
				dest := filepath.Join(t.TempDir(), "d")
				err := reader.Extract(context.Background(), p, dest, reader.ExtractOptions{})
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error does not name the archive: %v", err)
				}
				var ue *reader.UnsafeEntryError
				if errors.As(err, &ue) {
					t.Errorf("damage reported as an unsafe entry: %v", err)
				}
				if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("destination left behind: %v", err)
				}
			})
		}
	}
}

func TestExtractProgressAndCancel(t *testing.T) {
	src := makeTree(t, "", 1_500_000)
	p := writeArchive(t, src, TarBz2, Options{SourceDateEpoch: testEpoch})
	st, err := os.Stat(p)
	must(t, err)
	var last, calls int64
	must(t, reader.Extract(context.Background(), p, filepath.Join(t.TempDir(), "d"), reader.ExtractOptions{Progress: func(done, total int64) {
		if total != st.Size() || done < last || done > total {
			t.Errorf("progress %d/%d after %d (archive %d bytes)", done, total, last, st.Size())
		}
		last = done
		calls++
	}}))
	if calls < 3 || last != st.Size() {
		t.Errorf("%d progress calls, last %d of %d", calls, last, st.Size())
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	dest := filepath.Join(t.TempDir(), "d")
	err = reader.Extract(ctx, p, dest, reader.ExtractOptions{Progress: func(int64, int64) {
		if n++; n == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination left behind after cancel: %v", err)
	}
}

func TestListAndTopDir(t *testing.T) {
	src := makeTree(t, "", 0)
	want := wantEntries()
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			p := writeArchive(t, src, f, Options{SourceDateEpoch: testEpoch})
			entries, err := reader.List(context.Background(), p)
			must(t, err)
			if len(entries) != len(want) || entries[0].Name != "pypy/" {
				t.Fatalf("%d entries starting %q, want %d starting pypy/", len(entries), entries[0].Name, len(want))
			}
			for _, e := range entries {
				w := want[e.Name]
				if e.Type != w.typ || e.Mode != w.mode || e.Link != w.link || !e.ModTime.Equal(epochTime()) {
					t.Errorf("%s: %+v, want %+v", e.Name, e, w)
				}
			}
			top, err := reader.TopDir(context.Background(), p)
			if err != nil || top != "pypy" {
				t.Fatalf("TopDir = %q, %v", top, err)
			}
		})
	}
	two := tarGz(t, &tar.Header{Name: "a/x", Typeflag: tar.TypeReg}, &tar.Header{Name: "b/y", Typeflag: tar.TypeReg})
	if _, err := reader.TopDir(context.Background(), two); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Fatalf("TopDir of two tops: %v", err)
	}
	file := tarGz(t, &tar.Header{Name: "README", Typeflag: tar.TypeReg})
	if _, err := reader.TopDir(context.Background(), file); err == nil {
		t.Fatal("TopDir accepted a top-level file")
	}
}
