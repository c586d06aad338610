package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	reader "github.com/pypyctl/pypyctl/internal/archive"
)

// want is what an archive of testTreeSpec must hold, by entry name.
type wantEntry struct {
	typ  reader.EntryType
	mode fs.FileMode
	body string
	link string
}

func wantEntries() map[string]wantEntry {
	w := map[string]wantEntry{"pypy/": {typ: reader.EntryDir, mode: 0o755}}
	bodies := map[string]string{}
	for _, f := range testTreeSpec() {
		name := "pypy/" + f.path
		switch {
		case f.dir:
			w[name+"/"] = wantEntry{typ: reader.EntryDir, mode: 0o755}
		case f.link != "":
			w[name] = wantEntry{typ: reader.EntrySymlink, mode: 0o777, link: f.link}
		case f.hardOf != "":
			w[name] = wantEntry{typ: reader.EntryFile, mode: 0o644, body: bodies[f.hardOf]}
		default:
			mode := fs.FileMode(0o644)
			if f.mode&0o111 != 0 {
				mode = 0o755
			}
			w[name] = wantEntry{typ: reader.EntryFile, mode: mode, body: f.body}
			bodies[f.path] = f.body
		}
		// Parents that the spec creates implicitly.
		for d := filepath.Dir(f.path); d != "."; d = filepath.Dir(d) {
			if _, ok := w["pypy/"+d+"/"]; !ok {
				w["pypy/"+d+"/"] = wantEntry{typ: reader.EntryDir, mode: 0o755}
			}
		}
	}
	return w
}

// pyListTar prints every member of a tar (compressed as python's tarfile
// knows, or plain) as JSON, with file digests.
const pyListTar = `
import hashlib, json, sys, tarfile
tf = tarfile.open(sys.argv[1])
out = {"global_pax": tf.pax_headers, "members": []}
for m in tf.getmembers():
    e = {"name": m.name, "type": m.type.decode(), "mode": m.mode, "uid": m.uid, "gid": m.gid,
         "uname": m.uname, "gname": m.gname, "mtime": m.mtime, "size": m.size,
         "linkname": m.linkname, "pax": m.pax_headers}
    if m.isfile():
        e["sha256"] = hashlib.sha256(tf.extractfile(m).read()).hexdigest()
    out["members"].append(e)
print(json.dumps(out))
`

type pyTar struct {
	GlobalPax map[string]string `json:"global_pax"`
	Members   []struct {
		Name     string            `json:"name"`
		Type     string            `json:"type"`
		Mode     int               `json:"mode"`
		UID      int               `json:"uid"`
		GID      int               `json:"gid"`
		Uname    string            `json:"uname"`
		Gname    string            `json:"gname"`
		Mtime    int64             `json:"mtime"`
		Size     int64             `json:"size"`
		Linkname string            `json:"linkname"`
		Pax      map[string]string `json:"pax"`
		SHA256   string            `json:"sha256"`
	} `json:"members"`
}

const pyListZip = `
import hashlib, json, sys, zipfile
zf = zipfile.ZipFile(sys.argv[1])
out = []
for i in zf.infolist():
    out.append({"name": i.filename, "date_time": list(i.date_time), "create_system": i.create_system,
                "mode": i.external_attr >> 16, "extra": i.extra.hex(), "compress_type": i.compress_type,
                "sha256": hashlib.sha256(zf.read(i)).hexdigest(), "body": zf.read(i).decode("utf-8", "replace")})
print(json.dumps(out))
`

type pyZipEntry struct {
	Name         string `json:"name"`
	DateTime     []int  `json:"date_time"`
	CreateSystem int    `json:"create_system"`
	Mode         uint32 `json:"mode"`
	Extra        string `json:"extra"`
	CompressType int    `json:"compress_type"`
	SHA256       string `json:"sha256"`
	Body         string `json:"body"`
}

// decompressCLI turns a compressed tar into a plain one with the format's
// reference tool.
func decompressCLI(t *testing.T, path string, f Format) []byte {
	t.Helper()
	tool := map[Format]string{TarBz2: "bzip2", TarGz: "gzip", TarXz: "xz", TarZst: "zstd"}[f]
	needTool(t, tool)
	return run(t, nil, tool, "-dc", path)
}

func TestWriteReadByRealTools(t *testing.T) {
	needTool(t, "python3", "tar", "unzip")
	src := makeTree(t, "", 0)
	want := wantEntries()
	integrity := map[Format][]string{
		TarBz2: {"bzip2", "-t"},
		TarGz:  {"gzip", "-t"},
		TarXz:  {"xz", "-t"},
		TarZst: {"zstd", "-q", "-t"},
		Zip:    {"unzip", "-tq"},
	}
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			path := writeArchive(t, src, f, Options{SourceDateEpoch: testEpoch})
			needTool(t, integrity[f][0])
			run(t, nil, integrity[f][0], append(integrity[f][1:], path)...)
			if f == Zip {
				checkZipWithPython(t, path, want)
			} else {
				checkTarWithPython(t, path, f, want)
				checkTarWithGNUTar(t, path, f, want)
			}
			checkExtractedByTool(t, path, f, want)
		})
	}
}

func checkTarWithPython(t *testing.T, path string, f Format, want map[string]wantEntry) {
	plain := filepath.Join(t.TempDir(), "plain.tar")
	must(t, os.WriteFile(plain, decompressCLI(t, path, f), 0o644))
	targets := []string{plain}
	if f != TarZst { // python's tarfile reads bz2, gz and xz itself
		targets = append(targets, path)
	}
	for _, p := range targets {
		var got pyTar
		must(t, json.Unmarshal(run(t, nil, "python3", "-c", pyListTar, p), &got))
		if len(got.GlobalPax) != 0 {
			t.Errorf("%s: global PAX header %v", p, got.GlobalPax)
		}
		var names []string
		for _, m := range got.Members {
			name := m.Name
			if m.Type == "5" {
				name += "/"
			}
			names = append(names, name)
			w, ok := want[name]
			if !ok {
				t.Errorf("unexpected member %q", name)
				continue
			}
			wantType := map[reader.EntryType]string{reader.EntryDir: "5", reader.EntryFile: "0", reader.EntrySymlink: "2"}[w.typ]
			if m.Type != wantType || fs.FileMode(m.Mode) != w.mode || m.Linkname != w.link {
				t.Errorf("%s: type %s mode %o link %q, want %s %o %q", name, m.Type, m.Mode, m.Linkname, wantType, w.mode, w.link)
			}
			if m.UID != 0 || m.GID != 0 || m.Uname != "" || m.Gname != "" {
				t.Errorf("%s: owner %d/%d %q/%q, want 0/0 with empty names", name, m.UID, m.GID, m.Uname, m.Gname)
			}
			if m.Mtime != testEpoch {
				t.Errorf("%s: mtime %d, want %d", name, m.Mtime, testEpoch)
			}
			if len(m.Pax) != 0 {
				t.Errorf("%s: PAX records %v", name, m.Pax)
			}
			if w.typ == reader.EntryFile && m.SHA256 != sha([]byte(w.body)) {
				t.Errorf("%s: content differs", name)
			}
		}
		if len(names) != len(want) {
			t.Errorf("%d members, want %d: %v", len(names), len(want), names)
		}
		if !sort.StringsAreSorted(names) || names[0] != "pypy/" {
			t.Errorf("members not in byte order, top dir first: %v", names)
		}
	}
	raw, err := os.ReadFile(plain)
	must(t, err)
	if !bytes.Contains(raw, []byte("././@LongLink")) {
		t.Error("long name not stored as a GNU long-link record")
	}
	// No PAX extended headers: a header block's typeflag is at offset 156.
	for off := 0; off+512 <= len(raw); off += 512 {
		if raw[off+257] == 'u' && (raw[off+156] == 'x' || raw[off+156] == 'g') {
			t.Fatalf("PAX header block at offset %d", off)
		}
	}
}

func checkTarWithGNUTar(t *testing.T, path string, f Format, want map[string]wantEntry) {
	flag := map[Format]string{TarBz2: "-j", TarGz: "-z", TarXz: "-J", TarZst: "--zstd"}[f]
	out := string(run(t, nil, "tar", flag, "--numeric-owner", "--full-time", "-tvf", path))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("tar lists %d entries, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		if !strings.Contains(l, " 0/0 ") || !strings.Contains(l, " 2022-12-29 00:00:00 ") {
			t.Errorf("tar -tv: %s (want owner 0/0, mtime 2022-12-29 00:00:00 UTC)", l)
		}
	}
}

func checkZipWithPython(t *testing.T, path string, want map[string]wantEntry) {
	var got []pyZipEntry
	must(t, json.Unmarshal(run(t, nil, "python3", "-c", pyListZip, path), &got))
	if len(got) != len(want) {
		t.Errorf("%d members, want %d", len(got), len(want))
	}
	var names []string
	for _, z := range got {
		names = append(names, z.Name)
		w, ok := want[z.Name]
		if !ok {
			t.Errorf("unexpected member %q", z.Name)
			continue
		}
		typeBits := map[reader.EntryType]uint32{reader.EntryDir: syscall.S_IFDIR, reader.EntryFile: syscall.S_IFREG, reader.EntrySymlink: syscall.S_IFLNK}[w.typ]
		if z.Mode != typeBits|uint32(w.mode) {
			t.Errorf("%s: unix mode %o, want %o", z.Name, z.Mode, typeBits|uint32(w.mode))
		}
		if z.CreateSystem != 3 {
			t.Errorf("%s: create_system %d, want 3 (unix)", z.Name, z.CreateSystem)
		}
		if z.Extra != "" {
			t.Errorf("%s: extra fields %s, want none", z.Name, z.Extra)
		}
		if fmt.Sprint(z.DateTime) != "[2022 12 29 0 0 0]" {
			t.Errorf("%s: date_time %v", z.Name, z.DateTime)
		}
		switch w.typ {
		case reader.EntryFile:
			if z.SHA256 != sha([]byte(w.body)) {
				t.Errorf("%s: content differs", z.Name)
			}
			if len(w.body) > 100 && z.CompressType != 8 {
				t.Errorf("%s: compress_type %d, want 8 (deflate)", z.Name, z.CompressType)
			}
		case reader.EntrySymlink:
			if z.Body != w.link {
				t.Errorf("%s: symlink body %q, want %q", z.Name, z.Body, w.link)
			}
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("members not in byte order: %v", names)
	}
}

// checkExtractedByTool unpacks with GNU tar or Info-ZIP unzip and compares
// the files, modes and links with the spec.
func checkExtractedByTool(t *testing.T, path string, f Format, want map[string]wantEntry) {
	dest := t.TempDir()
	if f == Zip {
		run(t, nil, "unzip", "-q", path, "-d", dest)
	} else {
		run(t, nil, "tar", "-xf", path, "-C", dest)
	}
	compareTree(t, dest, want, f != Zip)
}

// compareTree checks an unpacked tree against want; mtimes only when
// checkTimes (unzip applies the DOS time in local time).
func compareTree(t *testing.T, dest string, want map[string]wantEntry, checkTimes bool) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dest {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		name := filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			name += "/"
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected %s", name)
			return nil
		}
		seen++
		switch w.typ {
		case reader.EntryDir:
			if !fi.IsDir() || fi.Mode().Perm() != w.mode {
				t.Errorf("%s: %v, want dir %o", name, fi.Mode(), w.mode)
			}
		case reader.EntrySymlink:
			l, err := os.Readlink(p)
			if err != nil || l != w.link {
				t.Errorf("%s: link %q (%v), want %q", name, l, err, w.link)
			}
			return nil
		case reader.EntryFile:
			b, err := os.ReadFile(p)
			if err != nil || string(b) != w.body || fi.Mode() != w.mode {
				t.Errorf("%s: mode %v, content ok %v (%v); want %o", name, fi.Mode(), string(b) == w.body, err, w.mode)
			}
		}
		if checkTimes && fi.ModTime().Unix() != testEpoch {
			t.Errorf("%s: mtime %v", name, fi.ModTime())
		}
		return nil
	})
	must(t, err)
	if seen != len(want) {
		t.Errorf("found %d paths, want %d", seen, len(want))
	}
}

// TestBzip2MatchesBzip2CLI: the parallel bzip2 writer emits one stream,
// and it is the very stream `bzip2 -9` makes of the same tar.
func TestBzip2MatchesBzip2CLI(t *testing.T) {
	needTool(t, "bzip2", "python3")
	src := makeTree(t, "", 2_500_000)
	path := writeArchive(t, src, TarBz2, Options{SourceDateEpoch: testEpoch, Workers: 3})
	got, err := os.ReadFile(path)
	must(t, err)
	tarBytes := decompressCLI(t, path, TarBz2)
	if ref := run(t, tarBytes, "bzip2", "-9"); !bytes.Equal(got, ref) {
		t.Fatalf("tar.bz2 (%d bytes) differs from bzip2 -9 of its tar (%d bytes)", len(got), len(ref))
	}
	// Python 2.7's bz2 stops after the first stream: it must be the only one.
	out := run(t, nil, "python3", "-c", `
import bz2, sys
d = bz2.BZ2Decompressor()
data = open(sys.argv[1], "rb").read()
n = len(d.decompress(data))
print(d.eof, len(d.unused_data), n)`, path)
	if want := fmt.Sprintf("True 0 %d\n", len(tarBytes)); string(out) != want {
		t.Fatalf("BZ2Decompressor: %q, want %q", out, want)
	}
}

// TestXzAndZstdMatchCLI: with fixed block/job sizes the C encoders give
// what `xz -T2 -6` and `zstd -T2 -19` give for the same tar.
func TestXzAndZstdMatchCLI(t *testing.T) {
	src := makeTree(t, "", 1_000_000)
	for _, c := range []struct {
		f    Format
		tool string
		args []string
	}{
		{TarXz, "xz", []string{"-T2", "-6", "-c"}},
		{TarZst, "zstd", []string{"-q", "-T2", "-19", "-c"}},
	} {
		t.Run(string(c.f), func(t *testing.T) {
			needTool(t, c.tool)
			path := writeArchive(t, src, c.f, Options{SourceDateEpoch: testEpoch, Workers: 1})
			got, err := os.ReadFile(path)
			must(t, err)
			// zstd records the content size only when it knows it, as
			// for a file argument; so does our writer.
			plain := filepath.Join(t.TempDir(), "plain.tar")
			must(t, os.WriteFile(plain, decompressCLI(t, path, c.f), 0o644))
			if ref := run(t, nil, c.tool, append(c.args, plain)...); !bytes.Equal(got, ref) {
				t.Fatalf("%s differs from %s %v of its tar (%d vs %d bytes)", c.f, c.tool, c.args, len(got), len(ref))
			}
		})
	}
}

func TestGzipHeader(t *testing.T) {
	needTool(t, "gzip")
	path := writeArchive(t, makeTree(t, "", 0), TarGz, Options{SourceDateEpoch: testEpoch})
	b, err := os.ReadFile(path)
	must(t, err)
	// magic, deflate, no flags (no name), mtime 0, XFL 2 (best), OS 3 (Unix)
	if want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3}; !bytes.Equal(b[:10], want) {
		t.Fatalf("gzip header % x, want % x", b[:10], want)
	}
	if out := string(run(t, nil, "gzip", "-lv", path)); !strings.Contains(out, "defla") {
		t.Fatalf("gzip -l: %s", out)
	}
}

// TestWorkersDoNotChangeBytes runs each format with 1 and 5 workers over a
// tree large enough for several bzip2 blocks and deflate splits.
func TestWorkersDoNotChangeBytes(t *testing.T) {
	src := makeTree(t, "", 2_200_000)
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			var outs [2][]byte
			for i, w := range []int{1, 5} {
				var b bytes.Buffer
				must(t, Write(context.Background(), &b, src, "pypy", f, Options{SourceDateEpoch: testEpoch, Workers: w}))
				outs[i] = b.Bytes()
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Fatalf("1 worker: %d bytes %s; 5 workers: %d bytes %s", len(outs[0]), sha(outs[0])[:12], len(outs[1]), sha(outs[1])[:12])
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	src := makeTree(t, "", 0)
	fifoTree := t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(fifoTree, "pipe"), 0o644))
	cases := []struct {
		name, src, top string
		f              Format
		epoch          int64
		want           string
	}{
		{"unknown format", src, "pypy", Format("rar"), 0, "unknown archive format"},
		{"slash in top dir", src, "a/b", TarGz, 0, "one plain path component"},
		{"dotdot top dir", src, "..", TarGz, 0, "one plain path component"},
		{"empty top dir", src, "", Zip, 0, "one plain path component"},
		{"negative epoch", src, "pypy", TarGz, -1, "before 1970"},
		{"missing source", filepath.Join(src, "nope"), "pypy", TarBz2, 0, "no such file"},
		{"source is a file", filepath.Join(src, "a.c"), "pypy", Zip, 0, "not a directory"},
		{"fifo in tree", fifoTree, "pypy", TarXz, 0, "cannot archive a named pipe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.out")
			err := WriteFile(context.Background(), out, c.src, c.top, c.f, Options{SourceDateEpoch: c.epoch})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Fatalf("WriteFile left %v behind", ents)
			}
		})
	}
}

func TestWriteCancelled(t *testing.T) {
	src := makeTree(t, "", 3_000_000)
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := Write(ctx, &bytes.Buffer{}, src, "pypy", f, Options{SourceDateEpoch: testEpoch})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}

// failWriter fails after n bytes, as a full disk would.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteSinkError(t *testing.T) {
	src := makeTree(t, "", 2_000_000)
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			err := Write(context.Background(), &failWriter{n: 1000}, src, "pypy", f, Options{SourceDateEpoch: testEpoch, Workers: 2})
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("err = %v, want the sink's error", err)
			}
		})
	}
}

func TestWriteProgress(t *testing.T) {
	src := makeTree(t, "", 2_000_000)
	for _, f := range AllFormats() {
		t.Run(string(f), func(t *testing.T) {
			var last, total, calls int64
			opt := Options{SourceDateEpoch: testEpoch, Progress: func(done, tot int64) {
				if done < last || (total != 0 && tot != total) || done > tot {
					t.Errorf("progress went %d/%d after %d/%d", done, tot, last, total)
				}
				last, total = done, tot
				calls++
			}}
			must(t, Write(context.Background(), &bytes.Buffer{}, src, "pypy", f, opt))
			if calls < 2 || last != total || total < 2_000_000 {
				t.Fatalf("%d calls, ended at %d/%d", calls, last, total)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	cases := []struct {
		in      string
		parse   Format
		fromExt Format
	}{
		{"tar.bz2", TarBz2, ""},
		{".tar.gz", TarGz, TarGz},
		{"pypy3.11-v7.3.20-linux64.tar.bz2", "", TarBz2},
		{"pypy3.11-v7.3.20-win64.zip", "", Zip},
		{"x.TAR.XZ", "", TarXz},
		{"x.tar.zst", "", TarZst},
		{"x.tar", "", ""},
		{"x.bz2", "", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, err := ParseFormat(c.in)
			if (err == nil) != (c.parse != "") || p != c.parse {
				t.Errorf("ParseFormat(%q) = %q, %v", c.in, p, err)
			}
			f, err := FormatOf(c.in)
			if (err == nil) != (c.fromExt != "") || f != c.fromExt {
				t.Errorf("FormatOf(%q) = %q, %v", c.in, f, err)
			}
		})
	}
	for _, f := range AllFormats() {
		if g, err := FormatOf("x" + f.Ext()); err != nil || g != f {
			t.Errorf("FormatOf(x%s) = %q, %v", f.Ext(), g, err)
		}
	}
}
