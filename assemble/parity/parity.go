// Package parity compares a release tree pypyctl assembled with the one
// upstream's own packager (pypy/tool/release/package.py) makes from the
// same translation: the file list, the symlinks and the modes. Contents
// are not compared (archives, build ids and bundled RUNPATHs differ by
// design). Every difference is either a defect or one of the documented
// Known differences, each with its reason (docs/parity.md).
package parity

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one path of a tree.
type Entry struct {
	Type string      // file | dir | symlink
	Mode fs.FileMode // permission bits (files and dirs)
	Link string      // symlink target
}

func (e Entry) String() string {
	if e.Type == "symlink" {
		return "symlink -> " + e.Link
	}
	return fmt.Sprintf("%s %04o", e.Type, e.Mode)
}

// Diff is one difference: a path only one side has, or has otherwise.
type Diff struct {
	Path   string `json:"path"`
	Ours   string `json:"ours"`   // "" when only upstream's tree has it
	Theirs string `json:"theirs"` // "" when only ours has it
	// Reason is the Known difference that explains it, if any.
	Reason string `json:"reason,omitempty"`
}

// Known is a documented difference: paths matching Pattern (path.Match
// per slash-separated path; "**/" matches any directory depth at the
// front) on the side Side ("ours", "theirs" or "both": a path both have
// but in another way).
type Known struct {
	Pattern string
	Side    string
	Reason  string
}

// Report is the comparison of two trees.
type Report struct {
	Ours, Theirs int    // entries in each tree
	Diffs        []Diff `json:"diffs"`
}

// Unexplained are the differences no Known difference covers.
func (r *Report) Unexplained() []Diff {
	var out []Diff
	for _, d := range r.Diffs {
		if d.Reason == "" {
			out = append(out, d)
		}
	}
	return out
}

// Walk lists a tree's entries by slash-separated path relative to root.
func Walk(root string) (map[string]Entry, error) {
	out := map[string]Entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{Mode: info.Mode().Perm()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Type, e.Mode = "symlink", 0
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir():
			e.Type = "dir"
		case info.Mode().IsRegular():
			e.Type = "file"
		default:
			return fmt.Errorf("parity: %s is neither a file, a directory nor a symlink", p)
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	return out, nil
}

// Compare compares the trees at ours and theirs and explains what it can
// with known.
func Compare(ours, theirs string, known []Known) (*Report, error) {
	a, err := Walk(ours)
	if err != nil {
		return nil, err
	}
	b, err := Walk(theirs)
	if err != nil {
		return nil, err
	}
	return CompareEntries(a, b, known), nil
}

// CompareEntries is Compare on listings.
func CompareEntries(ours, theirs map[string]Entry, known []Known) *Report {
	r := &Report{Ours: len(ours), Theirs: len(theirs)}
	seen := map[string]bool{}
	for p, e := range ours {
		seen[p] = true
		t, ok := theirs[p]
		switch {
		case !ok:
			r.Diffs = append(r.Diffs, Diff{Path: p, Ours: e.String()})
		case e != t:
			r.Diffs = append(r.Diffs, Diff{Path: p, Ours: e.String(), Theirs: t.String()})
		}
	}
	for p, t := range theirs {
		if !seen[p] {
			r.Diffs = append(r.Diffs, Diff{Path: p, Theirs: t.String()})
		}
	}
	sort.Slice(r.Diffs, func(i, j int) bool { return r.Diffs[i].Path < r.Diffs[j].Path })
	for i := range r.Diffs {
		r.Diffs[i].Reason = explain(r.Diffs[i], known)
	}
	return r
}

func explain(d Diff, known []Known) string {
	side := "both"
	switch {
	case d.Theirs == "":
		side = "ours"
	case d.Ours == "":
		side = "theirs"
	}
	for _, k := range known {
		if k.Side == side && match(k.Pattern, d.Path) {
			return k.Reason
		}
	}
	return ""
}

// match is path.Match, with a leading "**/" matching at any depth and a
// trailing "/**" matching everything below a directory.
func match(pattern, p string) bool {
	if rest, ok := strings.CutSuffix(pattern, "/**"); ok {
		if match(rest, p) {
			return true
		}
		for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if match(rest, dir) {
				return true
			}
		}
		return false
	}
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		for {
			if ok, _ := path.Match(rest, p); ok {
				return true
			}
			i := strings.IndexByte(p, '/')
			if i < 0 {
				return false
			}
			p = p[i+1:]
		}
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

// Summary is a short text of a report: counts, then each unexplained
// difference.
func (r *Report) Summary() string {
	var b strings.Builder
	un := r.Unexplained()
	fmt.Fprintf(&b, "%d entries ours, %d upstream's; %d differences, %d explained, %d unexplained\n",
		r.Ours, r.Theirs, len(r.Diffs), len(r.Diffs)-len(un), len(un))
	for _, d := range un {
		fmt.Fprintf(&b, "  %s: ours %q, upstream's %q\n", d.Path, d.Ours, d.Theirs)
	}
	return b.String()
}

// PackagePy are the differences between a pypyctl tree and package.py's
// (run with --make-portable, without embedded dependencies, in the same
// builder image on the same translation) that are deliberate. Each is
// listed in docs/parity.md with the same reason.
var PackagePy = []Known{
	{"bin/*.debug", "theirs", "debug info ships in the separate <base>-debug archive, not in the tree"},
	{"lib/libssl.so.*", "ours", whyOpenSSL},
	{"lib/libcrypto.so.*", "ours", whyOpenSSL},
	{"lib/libgcc_s.so.*", "ours", "libgcc_s is bundled: a minimal system (distroless, a sandbox with only glibc) lacks it"},
	{"lib/libz.so.*", "ours", whyZlibBzip2},
	{"lib/libbz2.so.*", "ours", whyZlibBzip2},
	{"bin/libpypy*-c.so", "both", whyWritable},
	{"lib/*.so*", "both", whyWritable},
	{"**/*.pypy*-linux-gnu.so", "both", whyWritable},
	{"include/**", "both", "cpyext's headers are read-only (0444) in package.py's tree; pypyctl's trees have 0644 and 0755 only"},
	{"lib/pypy*/*.c", "theirs", whyCffiC},
	{"lib/pypy*/build/**", "theirs", "empty directories a cffi build leaves behind"},
	// 2.7's tree: lib_pypy/ instead of lib/pypy3.x/, .pypy-73.so modules.
	{"lib_pypy/*.pypy-73.so", "both", whyWritable},
	{"lib_pypy/_tkinter/*.pypy-73.so", "both", whyWritable},
	{"lib_pypy/_pypy_*.c", "theirs", whyCffiC},
	{"lib_pypy/*/__pycache__/**", "theirs", "build leftovers in package.py's 2.7 tree (the cffi verifier's cache of _tkinter, empty __pycache__ directories); pypyctl's trees ship no bytecode caches"},
	{"lib/PYPY_PORTABLE_DEPS.txt", "ours", "pypyctl lists the bundled libraries with their sha256 and package; 7.3.23's make_portable writes the same file, 7.3.20's does not"},
}

const (
	whyCffiC     = "C sources cffi generated (_pypy_openssl.c, _pypy_util_cffi_inner.c) that package.py's ignore pattern *_cffi.c misses; not used at run time"
	whyZlibBzip2 = "zlib and bzip2 are bundled: a minimal system lacks them, and 7.3.20's make_portable list misses them although the 2.7 VM links both (7.3.23's list has them)"
	whyOpenSSL   = "OpenSSL is bundled: make_portable's glob misses _pypy_openssl.*.so (upstream links a static OpenSSL instead, which needs downloads), and systems without OpenSSL 1.1 could not import ssl"
	whyWritable  = "make_portable's chmod a+w leaves the files it patches world-writable (0777, 0666); pypyctl's are 0755"
)
