package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/archive/archivetest"
	"github.com/pypyctl/pypyctl/internal/testtool"
)

const testEpoch = 1672272000 // 2022-12-29T00:00:00Z

// treeFile describes one path of a test tree.
type treeFile struct {
	path   string
	body   string // files
	mode   os.FileMode
	link   string // symlink target
	dir    bool
	hardOf string // hard link to this earlier path
}

// longName is longer than tar's 100-byte name field.
var longName = "lib/pypy3.9/" + strings.Repeat("very_long_module_name_", 8) + ".py"

// testTreeSpec is a small tree with the cases the writer must get right:
// exec bits, long names and link targets, non-ASCII names, symlinks, a
// hard link, empty files and directories, and names whose byte order
// differs from a directory walk ("a-b" < "a/" < "a.c" is false: '-' <
// '.' < '/').
func testTreeSpec() []treeFile {
	return []treeFile{
		{path: "bin", dir: true, mode: 0o700},
		{path: "bin/pypy3.9", body: "#!/bin/sh\necho hi\n", mode: 0o700},
		{path: "bin/group-exec", body: "x\n", mode: 0o610},
		{path: "bin/pypy3", link: "pypy3.9"},
		{path: "bin/python", link: "pypy3"},
		{path: "lib/pypy3.9/site.py", body: "print('site')\n", mode: 0o600},
		{path: longName, body: "x = 1\n", mode: 0o640},
		{path: "lib/long-link", link: "pypy3.9/" + strings.Repeat("far/", 30) + "target"},
		{path: "lib/pypy3.9/site-packages", dir: true, mode: 0o777},
		{path: "lib/pypy3.9/héllo_wörld.py", body: "# utf-8 name\n", mode: 0o644},
		{path: "lib/empty", body: "", mode: 0o644},
		{path: "lib/hard", hardOf: "lib/pypy3.9/site.py"},
		{path: "a", dir: true, mode: 0o755},
		{path: "a/b", body: "in a\n", mode: 0o644},
		{path: "a-b", body: "dash\n", mode: 0o644},
		{path: "a.c", body: "dot\n", mode: 0o644},
		{path: "README.rst", body: strings.Repeat("PyPy is a fast Python.\n", 500), mode: 0o664},
	}
}

// makeTree builds the spec under a new temp dir. noise adds a file of
// pseudo-random text large enough to span several compression chunks.
func makeTree(t testing.TB, dir string, noise int) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	for _, f := range testTreeSpec() {
		p := filepath.Join(dir, f.path)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case f.dir:
			must(t, os.MkdirAll(p, 0o755))
			must(t, os.Chmod(p, f.mode))
		case f.link != "":
			must(t, os.Symlink(f.link, p))
		case f.hardOf != "":
			must(t, os.Link(filepath.Join(dir, f.hardOf), p))
		default:
			must(t, os.WriteFile(p, []byte(f.body), 0o600))
			must(t, os.Chmod(p, f.mode))
		}
	}
	if noise > 0 {
		must(t, os.WriteFile(filepath.Join(dir, "lib/noise.txt"), noiseText(noise, 1), 0o644))
	}
	return dir
}

// The helpers shared with internal/archive's tests.
var (
	noiseText = archivetest.NoiseText
	must      = archivetest.Must
	run       = archivetest.Run
	needTool  = testtool.Need // skips when a reference tool is missing (scripts/setup.sh installs them all)
)

func writeArchive(t testing.TB, src string, f Format, opt Options) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pypy"+f.Ext())
	if err := WriteFile(context.Background(), out, src, "pypy", f, opt); err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func epochTime() time.Time { return time.Unix(testEpoch, 0) }
