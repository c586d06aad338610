// Package srcarchive writes a release's source archives
// (pypyX.Y-vV-src.tar.gz, .tar.bz2) from its pinned git commit, byte for
// byte as pypy.org publishes them.
//
// Upstream's source archives are `git archive` of the release tag with one
// extra file, .hg_archival.txt (node, branch, tag: what Mercurial's
// `hg archive` used to write), under the prefix <release>-src/, then
// `gzip -9 -n` or `bzip2 -c` of that tar stream. git makes the tar stream
// here too, so its output format is pypy.org's; tar.bz2 is compressed with
// pypyctl's own bzip2 writer (libbz2, byte-identical to bzip2 -9, in
// parallel), tar.gz with the gzip(1) found on PATH, because no other
// deflate encoder reproduces GNU gzip's blocks.
package srcarchive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/translator"
)

// Formats are the source archive formats that reproduce upstream's bytes.
var Formats = []archive.Format{archive.TarGz, archive.TarBz2}

// Options configure Write.
type Options struct {
	// OutDir receives the archives (created if missing).
	OutDir string
	// Formats to write; nil means the release's (DefaultFormats).
	Formats []archive.Format
	// GitMirror, when set, is cloned instead of the release's git URL.
	GitMirror string
	// Workers bounds the bzip2 workers; 0 = GOMAXPROCS.
	Workers int
	// Logger receives progress; nil logs nothing.
	Logger *slog.Logger
}

// Archive is one source archive written.
type Archive struct {
	File   string `json:"file"`
	Path   string `json:"path"`
	Format string `json:"format"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Pinned is the matrix's sha256 for this file (upstream's); empty
	// when the matrix pins another format or none.
	Pinned   string `json:"pinned_sha256,omitempty"`
	Verified bool   `json:"verified"`
}

// Report says what Write made and from which source.
type Report struct {
	Release  string    `json:"release"`
	Repo     string    `json:"repo"`
	Tag      string    `json:"tag"`
	Commit   string    `json:"commit"`
	Tree     string    `json:"tree"`
	Archives []Archive `json:"archives"`
}

// DigestError is an archive whose bytes are not the matrix's pin. The
// archive is not left in OutDir.
type DigestError struct {
	File, Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: sha256 %s, but the matrix pins %s (upstream's); the archive was not kept", e.File, e.Got, e.Want)
}

// FileName is upstream's name of the release's source archive in format f.
func FileName(r *platforms.Release, f archive.Format) string {
	return r.Name + "-src" + f.Ext()
}

// DefaultFormats are the formats a release's source archives ship in:
// the pinned upstream archive's, else the tar formats of the release's
// formats, else tar.bz2 (upstream's format up to 7.3.20).
func DefaultFormats(r *platforms.Release) []archive.Format {
	if a := r.Source.Archive; a != nil && a.File != "" {
		if f, err := archive.FormatOf(a.File); err == nil && slices.Contains(Formats, f) {
			return []archive.Format{f}
		}
	}
	var out []archive.Format
	for _, s := range r.Formats {
		if f := archive.Format(s); slices.Contains(Formats, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []archive.Format{archive.TarBz2}
	}
	return out
}

// pinFor is the matrix's sha256 for file, if it pins that one.
func pinFor(r *platforms.Release, file string) string {
	if a := r.Source.Archive; a != nil && a.File == file {
		return strings.ToLower(a.SHA256)
	}
	return ""
}

// ArchivalFile is the content of .hg_archival.txt for the release at
// commit (translator.ArchivalFile: a translation writes the same file).
func ArchivalFile(r *platforms.Release, commit string) (string, error) {
	return translator.ArchivalFile(r, commit)
}

// Write clones the release's tag (from the mirror when set), checks the
// commit and tree pins, and writes each format's archive into OutDir,
// checking it against the matrix's pin. Each archive appears in OutDir
// only when complete and, if pinned, verified.
func Write(ctx context.Context, r *platforms.Release, o Options) (*Report, error) {
	formats := o.Formats
	if len(formats) == 0 {
		formats = DefaultFormats(r)
	}
	for _, f := range formats {
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("source archives come in tar.gz and tar.bz2, not %s", f)
		}
		// Missing tools fail before a clone, not after it.
		if _, err := exec.LookPath("gzip"); f == archive.TarGz && err != nil {
			return nil, errNoGzip
		}
	}
	src, err := translator.SourceFromRelease(r)
	if err != nil {
		return nil, err
	}
	if src.Kind != translator.SourceGit || src.Tag == "" {
		return nil, fmt.Errorf("release %s: source archives are made from a git tag, and the matrix gives none", r.Name)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, errors.New("source archives need git (2.35 or later, for git archive --add-file) on PATH")
	}
	// git runs inside the clone: every path handed to it must be absolute.
	out, err := filepath.Abs(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("output dir %s: %w", o.OutDir, err)
	}
	o.OutDir = out
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.OutDir, err)
	}
	// Scratch space beside the output, removed whatever happens.
	tmp, err := os.MkdirTemp(o.OutDir, ".source-*")
	if err != nil {
		return nil, fmt.Errorf("create scratch dir in %s: %w", o.OutDir, err)
	}
	defer os.RemoveAll(tmp)

	url := src.URL
	if o.GitMirror != "" {
		url = o.GitMirror
	}
	rep := &Report{Release: r.Name, Repo: url, Tag: src.Tag}
	o.log().Info("cloning", "url", url, "tag", src.Tag)
	repo := filepath.Join(tmp, "repo.git")
	if _, err := git(ctx, "", "clone", "--quiet", "--bare", "--depth", "1", "--branch", src.Tag, "--", url, repo); err != nil {
		return nil, err
	}
	commit, tree, err := translator.RevParseCommitTree(ctx, repo, src.Tag)
	if err != nil {
		return nil, err
	}
	if err := translator.CheckGitPins(src, url, commit, tree); err != nil {
		return nil, err
	}
	rep.Commit, rep.Tree = commit, tree

	text, err := ArchivalFile(r, commit)
	if err != nil {
		return nil, err
	}
	// --add-file takes the entry's name from the file's and its mode from
	// the file's executable bit: write it 0644 whatever the umask.
	extra := filepath.Join(tmp, "add", ".hg_archival.txt")
	if err := os.MkdirAll(filepath.Dir(extra), 0o755); err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	if err := os.WriteFile(extra, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("write .hg_archival.txt: %w", err)
	}
	if err := os.Chmod(extra, 0o644); err != nil {
		return nil, fmt.Errorf("chmod .hg_archival.txt: %w", err)
	}

	for _, f := range formats {
		a, err := writeOne(ctx, r, o, repo, commit, extra, f)
		if err != nil {
			return nil, err
		}
		rep.Archives = append(rep.Archives, a)
	}
	return rep, nil
}

func writeOne(ctx context.Context, r *platforms.Release, o Options, repo, commit, extra string, f archive.Format) (Archive, error) {
	name := FileName(r, f)
	path := filepath.Join(o.OutDir, name)
	a := Archive{File: name, Path: path, Format: string(f), Pinned: pinFor(r, name)}
	o.log().Info("writing", "file", name)
	err := fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(w, h)}
		if err := archiveTo(ctx, cw, repo, commit, r.Name+"-src/", extra, f, o.Workers); err != nil {
			return err
		}
		a.SHA256, a.Size = hex.EncodeToString(h.Sum(nil)), cw.n
		if a.Pinned != "" && a.SHA256 != a.Pinned {
			return &DigestError{File: name, Want: a.Pinned, Got: a.SHA256}
		}
		return nil
	})
	if err != nil {
		var de *DigestError
		if errors.As(err, &de) {
			return a, de
		}
		return a, err
	}
	a.Verified = a.Pinned != ""
	return a, nil
}

// archiveTo streams `git archive` of commit through the format's
// compressor into w.
func archiveTo(ctx context.Context, w io.Writer, repo, commit, prefix, extra string, f archive.Format, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ga := gitCmd(ctx, repo, "archive", "--format=tar", "--prefix="+prefix, "--add-file="+extra, commit)
	var gaErr bytes.Buffer
	ga.Stderr = &gaErr
	tarStream, err := ga.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	if err := ga.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	var cerr error
	switch f {
	case archive.TarGz:
		cerr = gzipCLI(ctx, w, tarStream)
	default:
		cerr = compressWith(ctx, w, tarStream, f, workers)
	}
	if cerr != nil {
		cancel() // stop git if the compressor gave up first
	}
	werr := ga.Wait()
	if cerr != nil {
		return cerr
	}
	if werr != nil {
		return fmt.Errorf("git archive %s: %v: %s", commit, werr, oneLine(gaErr.String()))
	}
	return nil
}

func compressWith(ctx context.Context, w io.Writer, r io.Reader, f archive.Format, workers int) error {
	c, err := archive.NewStreamCompressor(ctx, w, f, workers)
	if err != nil {
		return err
	}
	_, err = io.Copy(c, r)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("compress %s: %w", f, err)
	}
	return nil
}

var errNoGzip = errors.New("tar.gz source archives need gzip on PATH (its -9 -n output is upstream's bytes)")

// gzipCLI runs `gzip -9 -n`: pypy.org's tar.gz bytes are GNU gzip's
// deflate, which neither Go's nor zlib's encoder reproduces.
func gzipCLI(ctx context.Context, w io.Writer, r io.Reader) error {
	path, err := exec.LookPath("gzip")
	if err != nil {
		return errNoGzip
	}
	cmd := exec.CommandContext(ctx, path, "-9", "-n", "-c")
	cmd.Stdin, cmd.Stdout = r, w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gzip -9 -n: %v: %s", err, oneLine(stderr.String()))
	}
	return nil
}

// gitCmd runs git without the user's and the system's configuration
// (tar.umask there would change the archive's modes) and never prompts.
func gitCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := append([]string{"-c", "tar.umask=0002", "-c", "core.autocrlf=false"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return cmd
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := gitCmd(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// %v, not %w: an *exec.ExitError has ExitCode, which the CLI would
		// take for pypyctl's own exit status.
		return out, fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, oneLine(stderr.String()))
	}
	return out, nil
}

// oneLine keeps an error one line: a tool's stderr joined with "; ".
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " ; ")), " ")
}

func (o Options) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
