package translator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/archive"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
)

// Source kinds.
const (
	SourceGit     = "git"
	SourceArchive = "archive"
	SourceDir     = "dir"
)

// sourceStageVersion changes when a stored source tree would change for
// the same pin.
const sourceStageVersion = 1

// SourceInfo says where a PyPy source tree comes from and, once known,
// what it is (Digest).
type SourceInfo struct {
	Kind string `json:"kind"` // git | archive | dir
	// git
	URL    string `json:"url,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"` // the pin, if any
	Tree   string `json:"tree,omitempty"`   // the pinned tree, if any
	Head   string `json:"head,omitempty"`   // the commit fetched
	// Mirror is the URL actually cloned when a git mirror replaced URL.
	// It is not part of the pin: the commit and tree checks make any
	// mirror's clone the same source.
	Mirror string `json:"mirror,omitempty"`
	// archive: URL above or File (looked up in the download cache)
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// dir
	Dir string `json:"dir,omitempty"`

	// Digest names the tree's content: "git-tree:<sha1>" for git trees,
	// "sha256:<hex>" for archives, "files-sha256:<hex>" for other
	// directories. Empty until the source is fetched.
	Digest string `json:"digest,omitempty"`
	// StoreKey is the store entry of a fetched git or archive source.
	StoreKey string `json:"store_key,omitempty"`
	Fetched  bool   `json:"fetched"`
	Note     string `json:"note,omitempty"`
}

// pin is what identifies the source before its content is known.
func (s SourceInfo) pin() map[string]string {
	switch s.Kind {
	case SourceGit:
		return map[string]string{"kind": s.Kind, "url": s.URL, "tag": s.Tag, "commit": s.Commit, "tree": s.Tree}
	case SourceArchive:
		return map[string]string{"kind": s.Kind, "sha256": s.SHA256}
	}
	return map[string]string{"kind": s.Kind, "digest": s.Digest}
}

// Describe is a one-line summary for humans.
func (s SourceInfo) Describe() string {
	var b strings.Builder
	switch s.Kind {
	case SourceGit:
		fmt.Fprintf(&b, "git %s", s.URL)
		if s.Tag != "" {
			fmt.Fprintf(&b, " tag %s", s.Tag)
		}
		if s.Commit != "" {
			fmt.Fprintf(&b, " commit %s", s.Commit)
		}
		if s.Mirror != "" {
			fmt.Fprintf(&b, " (via mirror %s)", s.Mirror)
		}
	case SourceArchive:
		name := s.File
		if name == "" {
			name = s.URL
		}
		fmt.Fprintf(&b, "archive %s (sha256 %s)", name, s.SHA256)
	case SourceDir:
		fmt.Fprintf(&b, "directory %s", s.Dir)
	}
	if s.Digest != "" {
		fmt.Fprintf(&b, ", %s", s.Digest)
	} else {
		b.WriteString(", not fetched yet")
	}
	return b.String()
}

// SourceFromRelease describes the release's pinned source. A git source
// wins over an archive when the matrix names both.
func SourceFromRelease(r *platforms.Release) (SourceInfo, error) {
	switch {
	case r.Source.Git != nil:
		g := r.Source.Git
		if g.URL == "" || (g.Tag == "" && g.Commit == "") {
			return SourceInfo{}, fmt.Errorf("release %s: git source needs a url and a tag or commit", r.Name)
		}
		return SourceInfo{Kind: SourceGit, URL: g.URL, Tag: g.Tag, Commit: strings.ToLower(g.Commit), Tree: strings.ToLower(g.Tree)}, nil
	case r.Source.Archive != nil:
		a := r.Source.Archive
		if !isHexDigest(a.SHA256) {
			return SourceInfo{}, fmt.Errorf("release %s: source archive needs a sha256 pin, got %q", r.Name, a.SHA256)
		}
		file := a.File
		if file == "" {
			file = pathBase(a.URL)
		}
		return SourceInfo{Kind: SourceArchive, URL: a.URL, File: file, SHA256: strings.ToLower(a.SHA256)}, nil
	}
	return SourceInfo{}, fmt.Errorf("release %s has no source (git or archive) in the matrix; pass --source DIR", r.Name)
}

// SourceFromDir describes a local checkout and digests it: its git tree
// when it is a clean git work tree, else a hash of its files (the tracked
// ones for a git work tree with local changes).
func SourceFromDir(ctx context.Context, dir string) (SourceInfo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return SourceInfo{}, fmt.Errorf("--source %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return SourceInfo{}, fmt.Errorf("--source %s: not a directory", dir)
	}
	s := SourceInfo{Kind: SourceDir, Dir: abs, Fetched: true}
	files, isGit, err := sourceFiles(ctx, abs)
	if err != nil {
		return SourceInfo{}, err
	}
	if isGit {
		status, err := git(ctx, abs, "status", "--porcelain", "--untracked-files=no")
		if err != nil {
			return SourceInfo{}, err
		}
		if len(bytes.TrimSpace(status)) == 0 {
			out, err := git(ctx, abs, "rev-parse", "HEAD", "HEAD^{tree}")
			if err != nil {
				return SourceInfo{}, err
			}
			ids := strings.Fields(string(out))
			if len(ids) != 2 {
				return SourceInfo{}, fmt.Errorf("git rev-parse in %s: unexpected output %q", abs, out)
			}
			s.Head, s.Digest = ids[0], "git-tree:"+ids[1]
			return s, nil
		}
		s.Note = "the git work tree has uncommitted changes: digest is a hash of its tracked files"
	}
	sum, err := hashFiles(abs, files)
	if err != nil {
		return SourceInfo{}, err
	}
	s.Digest = "files-sha256:" + sum
	return s, nil
}

// sourceFiles lists the files that make up a source directory: git's
// tracked files in a work tree (so build leftovers do not leak into a
// translation), else every file.
func sourceFiles(ctx context.Context, dir string) ([]string, bool, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		out, err := git(ctx, dir, "ls-files", "-z")
		if err != nil {
			return nil, true, err
		}
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f == "" {
				continue
			}
			// Tracked but deleted in the work tree: nothing to copy.
			if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
				files = append(files, f)
			}
		}
		sort.Strings(files)
		return files, true, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list source %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, false, nil
}

// hashFiles digests a file list: path, kind, executable bit and content
// (or link target) of each, in order.
func hashFiles(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		st, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("hash source: %w", err)
		}
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return "", fmt.Errorf("hash source: %w", err)
			}
			fmt.Fprintf(h, "l %s %s\x00", f, t)
		case st.Mode().IsRegular():
			sum, _, err := fsutil.SHA256File(p)
			if err != nil {
				return "", fmt.Errorf("hash source: %w", err)
			}
			fmt.Fprintf(h, "f %s %t %s\x00", f, st.Mode().Perm()&0o111 != 0, sum)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// GitMirrorEnv names the environment variable that sets Sources.GitMirror
// (the --git-mirror flag wins over it).
const GitMirrorEnv = "PYPYCTL_GIT_MIRROR"

// Sources fetches PyPy sources into the store.
type Sources struct {
	Store     *store.Local
	Downloads string       // download cache for source archives
	Client    *http.Client // nil: http.DefaultClient
	Logger    *slog.Logger // progress; nil logs nothing
	// GitMirror, when set, is cloned instead of every git source's URL
	// (a file:// path or any URL git clones). The pinned commit and tree
	// are checked after the clone either way.
	GitMirror string
}

// storedSource is source.json in a source store entry.
type storedSource struct {
	Source SourceInfo `json:"source"`
}

func (s *Sources) key(src SourceInfo) (store.Key, error) {
	return store.NewKey("source", sourceStageVersion, src.pin())
}

// Lookup fills src's Digest from the store when the source was fetched
// before; it never touches the network.
func (s *Sources) Lookup(src *SourceInfo) error {
	if src.Kind == SourceDir || s == nil || s.Store == nil {
		return nil
	}
	k, err := s.key(*src)
	if err != nil {
		return err
	}
	dir, ok, err := s.Store.Lookup(k)
	if err != nil || !ok {
		return err
	}
	return readStoredSource(dir, src)
}

func readStoredSource(dir string, src *SourceInfo) error {
	b, err := os.ReadFile(filepath.Join(dir, "source.json"))
	if err != nil {
		return fmt.Errorf("stored source: %w", err)
	}
	var st storedSource
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("stored source %s: %w", dir, err)
	}
	*src = st.Source
	return nil
}

// Fetch makes the source available and returns the directory holding the
// tree plus the list of its files; src gets its Digest. Git and archive
// sources go through the store (a second fetch is a hit); a local
// directory is used where it is.
func (s *Sources) Fetch(ctx context.Context, src *SourceInfo) (string, []string, error) {
	if src.Kind == SourceDir {
		files, _, err := sourceFiles(ctx, src.Dir)
		return src.Dir, files, err
	}
	if s == nil || s.Store == nil {
		return "", nil, fmt.Errorf("fetch PyPy source (%s): no store to fetch into", src.Describe())
	}
	k, err := s.key(*src)
	if err != nil {
		return "", nil, err
	}
	res, err := s.Store.Ensure(ctx, k, func(ctx context.Context, dir string) error {
		got := *src
		if got.Kind == SourceGit {
			got.Mirror = s.GitMirror
		}
		var err error
		switch src.Kind {
		case SourceGit:
			err = s.fetchGit(ctx, &got, filepath.Join(dir, "tree"))
		case SourceArchive:
			err = s.fetchArchive(ctx, &got, filepath.Join(dir, "tree"))
		default:
			err = fmt.Errorf("unknown source kind %q", src.Kind)
		}
		if err != nil {
			return err
		}
		got.Fetched, got.StoreKey = true, string(k)
		b, err := json.MarshalIndent(storedSource{Source: got}, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "source.json"), append(b, '\n'), 0o644)
	})
	if err != nil {
		return "", nil, fmt.Errorf("fetch PyPy source (%s): %w", src.Describe(), err)
	}
	if err := readStoredSource(res.Dir, src); err != nil {
		return "", nil, err
	}
	tree := filepath.Join(res.Dir, "tree")
	files, _, err := sourceFiles(ctx, tree)
	return tree, files, err
}

func (s *Sources) log() *slog.Logger { return logging.OrDiscard(s.Logger) }

// fetchGit makes a shallow clone at the tag or of the pinned commit, from
// the mirror when one is set, checks the commit and tree pins, records
// the tree hash and drops .git so the stored tree is only the source.
func (s *Sources) fetchGit(ctx context.Context, src *SourceInfo, dest string) error {
	url := src.URL
	if src.Mirror != "" {
		url = src.Mirror
	}
	s.log().Info("cloning", "url", url, "ref", firstNonEmpty(src.Tag, src.Commit))
	if src.Tag != "" {
		if _, err := git(ctx, "", "clone", "--quiet", "--depth", "1", "--branch", src.Tag, "--", url, dest); err != nil {
			return err
		}
	} else {
		if _, err := git(ctx, "", "init", "--quiet", dest); err != nil {
			return err
		}
		if _, err := git(ctx, dest, "fetch", "--quiet", "--depth", "1", "--", url, src.Commit); err != nil {
			return err
		}
		if _, err := git(ctx, dest, "checkout", "--quiet", "--detach", "FETCH_HEAD"); err != nil {
			return err
		}
	}
	// HEAD of a clone at an annotated tag is already the tag's commit;
	// ^{commit} says so explicitly.
	commit, tree, err := RevParseCommitTree(ctx, dest, "HEAD")
	if err != nil {
		return err
	}
	if err := CheckGitPins(*src, url, commit, tree); err != nil {
		return err
	}
	src.Head = commit
	src.Digest = "git-tree:" + tree
	return os.RemoveAll(filepath.Join(dest, ".git"))
}

// RevParseCommitTree resolves rev (a tag, annotated or not, or a commit)
// in the repository at dir (a work tree or a bare git dir) to its commit
// and tree.
func RevParseCommitTree(ctx context.Context, dir, rev string) (commit, tree string, err error) {
	if strings.HasPrefix(rev, "-") {
		return "", "", fmt.Errorf("git revision %q: must not start with '-'", rev)
	}
	out, err := git(ctx, dir, "rev-parse", rev+"^{commit}", rev+"^{tree}")
	if err != nil {
		return "", "", err
	}
	ids := strings.Fields(string(out))
	if len(ids) != 2 {
		return "", "", fmt.Errorf("git rev-parse %s in %s: unexpected output %q", rev, dir, out)
	}
	return ids[0], ids[1], nil
}

// GitPinError is a fetched commit or tree that is not the matrix's pin.
type GitPinError struct {
	URL, Tag  string
	What      string // "commit" or "tree"
	Got, Want string
}

func (e *GitPinError) Error() string {
	at := e.URL
	if e.Tag != "" {
		at += " tag " + e.Tag
	}
	hint := "was the tag moved, or does the mirror serve another repository?"
	return fmt.Sprintf("%s: %s is %s, but the matrix pins %s %s (%s)", at, e.What, e.Got, e.What, e.Want, hint)
}

// CheckGitPins compares a fetched commit and tree with the source's pins
// (either pin may be absent; a commit pin may be abbreviated). url is
// where the clone came from, for the message.
func CheckGitPins(src SourceInfo, url, commit, tree string) error {
	if src.Commit != "" && !strings.HasPrefix(commit, strings.ToLower(src.Commit)) {
		return &GitPinError{URL: url, Tag: src.Tag, What: "commit", Got: commit, Want: src.Commit}
	}
	if src.Tree != "" && tree != strings.ToLower(src.Tree) {
		return &GitPinError{URL: url, Tag: src.Tag, What: "tree", Got: tree, Want: src.Tree}
	}
	return nil
}

// fetchArchive finds the archive in the download cache (or downloads it),
// verifies its pin before reading a byte of it, and unpacks it without its
// top directory.
func (s *Sources) fetchArchive(ctx context.Context, src *SourceInfo, dest string) error {
	path := filepath.Join(s.Downloads, "source", src.File)
	err := fsutil.VerifySHA256(path, src.SHA256)
	var mismatch *fsutil.DigestMismatchError
	switch {
	case err == nil:
	case src.URL == "" && errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("source archive %s is not in the download cache (%s) and the matrix gives no url", src.File, path)
	case src.URL != "" && (errors.Is(err, os.ErrNotExist) || errors.As(err, &mismatch)):
		// A damaged or foreign cached copy is replaced, never used.
		if err := s.download(ctx, src.URL, path); err != nil {
			return err
		}
		if err := fsutil.VerifySHA256(path, src.SHA256); err != nil {
			os.Remove(path)
			return err
		}
	default:
		return err
	}
	s.log().Info("unpacking", "file", src.File)
	if err := archive.Extract(ctx, path, dest, archive.ExtractOptions{StripComponents: 1}); err != nil {
		return err
	}
	src.Digest = "sha256:" + src.SHA256
	return nil
}

func (s *Sources) download(ctx context.Context, url, path string) error {
	s.log().Info("downloading", "url", url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: %s", url, resp.Status)
	}
	return fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, resp.Body)
		return err
	})
}

// gitEnv keeps git from prompting for credentials (it would hang) and
// from translating line endings (the tree hash must describe the bytes).
func gitEnv() []string {
	return append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	full := append([]string{"-c", "core.autocrlf=false", "-c", "advice.detachedHead=false"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// %v, not %w: an *exec.ExitError has ExitCode, and the CLI would
		// pass git's status (128) through as pypyctl's own.
		return out, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, oneLine(stderr.String(), 3))
	}
	return out, nil
}

var cpythonVersionRE = regexp.MustCompile(`(?m)^CPYTHON_VERSION\s*=\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)`)

// CheckSourceTree makes sure dir is a PyPy source tree for the release's
// Python version, so a wrong tag fails in a second, not after an hour.
func CheckSourceTree(dir string, r *platforms.Release) error {
	for _, f := range []string{"rpython/bin/rpython", "pypy/goal/targetpypystandalone.py"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("%s is not a PyPy source tree: %s is missing", dir, f)
		}
	}
	vf := filepath.Join(dir, "pypy", "module", "sys", "version.py")
	b, err := os.ReadFile(vf)
	if err != nil {
		return fmt.Errorf("%s is not a PyPy source tree: %w", dir, err)
	}
	m := cpythonVersionRE.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("%s: no CPYTHON_VERSION line", vf)
	}
	got := fmt.Sprintf("%s.%s.%s", m[1], m[2], m[3])
	if got != r.PythonVersion {
		return fmt.Errorf("the source implements Python %s (pypy/module/sys/version.py) but release %s is Python %s", got, r.Name, r.PythonVersion)
	}
	return nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func pathBase(u string) string {
	if i := strings.LastIndex(u, "/"); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ArchivalFile is the content of .hg_archival.txt for the release at
// commit: what `hg archive` wrote when PyPy lived in Mercurial, and what
// upstream still adds to its git archives.
func ArchivalFile(r *platforms.Release, commit string) (string, error) {
	g := r.Source.Git
	if g == nil || g.Tag == "" {
		return "", fmt.Errorf("release %s: source archives need source.git with a tag", r.Name)
	}
	if len(commit) < 12 {
		return "", fmt.Errorf("release %s: commit %q is too short", r.Name, commit)
	}
	major, _, ok := strings.Cut(r.PyPyVersion, ".")
	if !ok || major == "" {
		return "", fmt.Errorf("release %s: pypy_version %q has no major version", r.Name, r.PyPyVersion)
	}
	branch := fmt.Sprintf("release-pypy%s-v%s.x", r.PythonShort(), major)
	return fmt.Sprintf("node: %s\nbranch: %s\ntag: %s\n", commit[:12], branch, g.Tag), nil
}
