package install

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/publish/index"
)

// Extractor unpacks an archive into dest (an empty directory), refusing
// entries that would land outside it. packaging/archive implements it.
type Extractor interface {
	Extract(ctx context.Context, archivePath, dest string) error
}

// ExtractFunc adapts a function to Extractor.
type ExtractFunc func(ctx context.Context, archivePath, dest string) error

// Extract calls f.
func (f ExtractFunc) Extract(ctx context.Context, archivePath, dest string) error {
	return f(ctx, archivePath, dest)
}

// SignatureVerifier checks a detached signature (the bytes of
// <archive>.sig) over a file's sha256 digest against trusted public keys
// (PEM). It returns the key that verified, or an error when none does.
// The digest is the one the download was already verified against, so the
// archive is not read again. TrustVerifier implements it.
type SignatureVerifier interface {
	VerifyDigest(digest, sig []byte, keys []TrustedKey) (TrustedKey, error)
}

// TrustedKey is a public key from <data>/trusted-keys.
type TrustedKey struct {
	Name string // file name in trusted-keys
	PEM  []byte
}

// Installer installs PyPy versions into a data dir.
type Installer struct {
	Dirs      dirs.Dirs
	Host      index.Platform    // zero: this machine
	Extractor Extractor         // nil: ArchiveExtractor
	Verifier  SignatureVerifier // nil: TrustVerifier
	Client    *http.Client      // nil: a client with sane timeouts
	Retries   int               // extra download attempts; negative: none
	Backoff   time.Duration     // first retry wait; zero: 500 ms
	// IdleTimeout bounds the wait for headers and between body reads;
	// zero: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxDownload caps an archive the index gives no size for; zero:
	// DefaultMaxDownload.
	MaxDownload int64
	Logger      *slog.Logger // nil: log nothing
	Progress    func(step string, done, total int64)
	// Offline uses only local files, the built-in catalogue and the
	// download cache: no network at all.
	Offline bool
}

// Options are per install.
type Options struct {
	// Sources are searched in order (see ResolveSources); empty: Index
	// alone, or without Index upstream's built-in catalogue.
	Sources Sources
	Index   string // location of one versions.json (URL or path)
	DryRun  bool   // resolve and report, change nothing
	Force   bool   // reinstall even if installed
}

// Status values of a Result.
const (
	StatusInstalled        = "installed"
	StatusAlreadyInstalled = "already-installed"
	StatusWouldInstall     = "would-install"
)

// Result says what an install did.
type Result struct {
	Status        string `json:"status"`
	Request       string `json:"request"`
	Name          string `json:"name"`
	Dir           string `json:"dir"`
	Executable    string `json:"executable,omitempty"`
	PythonVersion string `json:"python_version"`
	PyPyVersion   string `json:"pypy_version"`
	Filename      string `json:"filename,omitempty"`
	URL           string `json:"url,omitempty"`
	SHA256        string `json:"sha256,omitempty"`
	// ChecksumFrom says where the digest came from: the index or the
	// SHA256SUMS beside the archive.
	ChecksumFrom string `json:"checksum_from,omitempty"`
	Signature    string `json:"signature,omitempty"`
	CacheHit     bool   `json:"cache_hit,omitempty"`
	Size         int64  `json:"size,omitempty"`
	// Waited is true when another install held the lock first.
	Waited bool   `json:"waited,omitempty"`
	Note   string `json:"note,omitempty"`
	// Source is the index or catalogue the version came from and
	// SourceFrom what configured it (--index, default, …).
	Source     string `json:"source,omitempty"`
	SourceFrom string `json:"source_from,omitempty"`
}

// NoChecksumError refuses an archive whose digest is nowhere published.
type NoChecksumError struct{ File, SumsURL string }

func (e *NoChecksumError) Error() string {
	return fmt.Sprintf("refusing to install %s unverified: the index has no sha256 for it and %s does not list it", e.File, e.SumsURL)
}

// SignatureError refuses an archive whose signature does not verify.
type SignatureError struct {
	File string
	Err  error
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("refusing to install %s: signature check failed: %v", e.File, e.Err)
}
func (e *SignatureError) Unwrap() error { return e.Err }

func (in *Installer) layout() Layout { return Layout{Data: in.Dirs.Data} }

func (in *Installer) log() *slog.Logger { return logging.OrDiscard(in.Logger) }

func (in *Installer) host() (index.Platform, error) {
	if in.Host != (index.Platform{}) {
		return in.Host, nil
	}
	return index.HostPlatform(runtime.GOOS, runtime.GOARCH)
}

func (in *Installer) fetcher(step string) *fetcher {
	c := in.Client
	if c == nil {
		c = defaultClient()
	}
	f := &fetcher{client: c, retries: in.Retries, backoff: in.Backoff, log: in.log(), idle: in.IdleTimeout, offline: in.Offline}
	if f.retries == 0 {
		f.retries = 4
	} else if f.retries < 0 {
		f.retries = 0
	}
	if f.backoff == 0 {
		f.backoff = 500 * time.Millisecond
	}
	if in.Progress != nil && step != "" {
		f.progress = func(done, total int64) { in.Progress(step, done, total) }
	}
	return f
}

// Install installs the best match for r in the index. If that version is
// installed already (or, when the index cannot be read, any installed
// version matches r) nothing is done unless Force is set. The
// archive is verified — sha256 always, the signature when a key is
// trusted — before a byte of it is extracted; extraction goes to a temp
// dir in versions/ that is renamed into place, under a lock, so a killed
// install leaves no partial version and concurrent installs of one
// version do the work once.
func (in *Installer) Install(ctx context.Context, r Request, o Options) (*Result, error) {
	l := in.layout()
	host, err := in.host()
	if err != nil {
		return nil, err
	}
	// A request naming one archive or version is answered locally.
	if !o.Force && (r.Name != "" || r.Filename != "") {
		if got, err := FindInstalled(l, r); err == nil {
			return alreadyInstalled(r, got), nil
		}
	}
	f := in.fetcher("")
	// One retry for small files: an offline machine should fall back to
	// what is installed in a second, not after the archive's backoff.
	f.retries = min(f.retries, 1)
	keys, err := TrustedKeys(l)
	if err != nil {
		return nil, err
	}
	// Every index searched must pass the signed-index check before it
	// answers: a rolled-back index could otherwise hide its newest
	// release and let a later source answer instead.
	checkIndex := func(li *loadedIndex) error {
		if li.URL == nil {
			return nil // the built-in catalogue is part of pypyctl
		}
		if _, err := in.checkSignedIndex(ctx, f, l, li, keys, !o.DryRun); err != nil {
			return &SignatureError{File: li.URL.String(), Err: err}
		}
		return nil
	}
	li, c, err := resolveSources(ctx, f, o.sourcesOf(), r, host, checkIndex)
	var unavailable *IndexUnavailableError
	if errors.As(err, &unavailable) {
		// Offline, an installed match is better than failing; a missing
		// or broken index is a mistake to report, not to paper over.
		if got, ferr := FindInstalled(l, r); ferr == nil && !o.Force && r.PyPy != index.Nightly {
			res := alreadyInstalled(r, got)
			res.Note = fmt.Sprintf("%v; a newer match may exist", err)
			in.log().Warn(res.Note)
			return res, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if !o.Force {
		if got, ok := installedAs(l, c); ok {
			return alreadyInstalled(r, got), nil
		}
	}
	u, err := li.fileURL(c.File)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Status: StatusWouldInstall, Request: r.Raw, Name: c.Name(), Dir: filepath.Join(l.Versions(), c.Name()),
		PythonVersion: c.Version.PythonVersion, PyPyVersion: c.Version.PyPyVersion,
		Filename: c.File.Filename, URL: u.String(), SHA256: c.File.SHA256,
		Source: li.describe(), SourceFrom: c.Source.From,
	}
	if o.DryRun {
		if c.File.SHA256 != "" {
			res.ChecksumFrom = "index"
			if c.Source.Kind == SourceUpstream {
				res.ChecksumFrom = "catalogue"
			}
		}
		return res, nil
	}

	// Checksum first: nothing is downloaded that cannot be verified.
	sum, from := c.File.SHA256, "index"
	if c.Source.Kind == SourceUpstream {
		from = "catalogue"
	}
	if sum == "" {
		sumsURL := sumsURLFor(u)
		if sum, err = in.sumFromSHA256SUMS(ctx, f, sumsURL, c.File.Filename); err != nil {
			return nil, err
		}
		from = sumsURL.String()
	}
	res.SHA256, res.ChecksumFrom = sum, from

	// The name was validated with the index; checked again because it
	// becomes a path.
	if err := ValidArchiveName(c.File.Filename); err != nil {
		return nil, err
	}
	archivePath := filepath.Join(in.Dirs.Downloads(), c.File.Filename)
	limit := c.File.Size
	if limit == 0 {
		limit = in.MaxDownload
	}
	if limit <= 0 {
		limit = DefaultMaxDownload
	}
	// Downloads lock only their own cache entry: a slow server for one
	// version must not hold up installs of others. The lock is kept
	// through extraction, so no other run replaces the verified file
	// before it is unpacked (lock order: download, then install).
	waited := false
	dlock, err := fsutil.Acquire(ctx, downloadLock(archivePath), func() {
		waited = true
		in.log().Info("waiting for another pypyctl install to finish downloading", "file", c.File.Filename)
	})
	if err != nil {
		return nil, err
	}
	df := in.fetcher("download " + c.File.Filename)
	defer dlock.Release()
	hit, size, err := df.download(ctx, u, archivePath, sum, limit)
	if err != nil {
		return nil, &DownloadError{File: c.File.Filename, URL: u.String(), Source: c.Source, Err: err}
	}
	res.CacheHit, res.Size = hit, size
	res.Signature = "not required (no trusted keys)"
	if len(keys) > 0 {
		who, ok, err := in.verifyReleaseSums(ctx, f, u, c.File.Filename, sum, keys)
		if err == nil && !ok {
			who, err = in.verifySignature(ctx, f, u, sum, keys)
		}
		if err != nil {
			return nil, &SignatureError{File: c.File.Filename, Err: err}
		}
		res.Signature = "verified by " + who
	}

	lock, err := fsutil.Acquire(ctx, l.Lock(), func() {
		waited = true
		in.log().Info("waiting for another pypyctl install to finish", "lock", l.Lock())
	})
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	res.Waited = waited
	if err := os.MkdirAll(l.Versions(), 0o755); err != nil {
		return nil, err
	}
	cleanTemps(l)
	if !o.Force {
		if got, ok := installedAs(l, c); ok {
			out := alreadyInstalled(r, got)
			out.Waited = waited
			return out, nil
		}
	}

	rec := Receipt{
		PyPyVersion: c.Version.PyPyVersion, PythonVersion: c.Version.PythonVersion,
		Stable:   c.Version.Stable && !c.Version.IsNightly() && !index.IsPrerelease(c.Version.PyPyVersion),
		Filename: c.File.Filename, URL: u.String(), SHA256: sum, Arch: c.File.Arch, Platform: c.File.Platform,
		Index: li.describe(), Signature: res.Signature,
	}
	name, existed, err := in.extract(ctx, l, c, archivePath, rec, o.Force)
	if err != nil {
		return nil, err
	}
	res.Name, res.Dir = name, filepath.Join(l.Versions(), name)
	res.Executable = findExecutable(res.Dir, c.Version.PythonVersion)
	res.Status = StatusInstalled
	if existed {
		res.Status = StatusAlreadyInstalled
	}
	return res, nil
}

func alreadyInstalled(r Request, got Installed) *Result {
	res := &Result{
		Status: StatusAlreadyInstalled, Request: r.Raw, Name: got.Name, Dir: got.Dir, Executable: got.Executable,
		PythonVersion: got.PythonVersion, PyPyVersion: got.PyPyVersion,
	}
	if got.Receipt != nil {
		res.Filename, res.URL, res.SHA256 = got.Receipt.Filename, got.Receipt.URL, got.Receipt.SHA256
	}
	return res
}

// installedAs finds c among installed versions: by name, or for nightlies
// (named after their top directory) by archive digest.
func installedAs(l Layout, c Candidate) (Installed, bool) {
	all, err := ListInstalled(l)
	if err != nil {
		return Installed{}, false
	}
	for _, in := range all {
		if in.Executable == "" {
			continue
		}
		if !c.Version.IsNightly() && in.Name == c.Name() {
			return in, true
		}
		if in.Receipt != nil && c.File.SHA256 != "" && in.Receipt.SHA256 == c.File.SHA256 {
			return in, true
		}
	}
	return Installed{}, false
}

func (in *Installer) sumFromSHA256SUMS(ctx context.Context, f *fetcher, sumsURL *url.URL, filename string) (string, error) {
	data, err := f.readSmall(ctx, sumsURL, maxIndexSize)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "", &NoChecksumError{File: filename, SumsURL: sumsURL.String()}
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", sumsURL, err)
	}
	listed, err := sums.Parse(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", sumsURL, err)
	}
	sum, ok := listed[filename]
	if !ok {
		return "", &NoChecksumError{File: filename, SumsURL: sumsURL.String()}
	}
	// Checked before the download, not reported as a mismatch after it.
	sum, err = NormalizeSHA256(sum)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", sumsURL, filename, err)
	}
	return sum, nil
}

func (in *Installer) verifySignature(ctx context.Context, f *fetcher, u *url.URL, sumHex string, keys []TrustedKey) (string, error) {
	v := in.Verifier
	if v == nil {
		v = TrustVerifier{}
	}
	sigURL := *u
	sigURL.Path += ".sig"
	sigURL.RawPath = ""
	sig, err := f.readSmall(ctx, &sigURL, 1<<20)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "", fmt.Errorf("a key is trusted but %s is missing", sigURL.String())
	}
	if err != nil {
		return "", err
	}
	digest, err := hex.DecodeString(sumHex)
	if err != nil {
		return "", fmt.Errorf("sha256 %q: %w", sumHex, err)
	}
	k, err := v.VerifyDigest(digest, sig, keys)
	if err != nil {
		return "", fmt.Errorf("%s: %w", sigURL.String(), err)
	}
	return k.Name, nil
}

// extract unpacks the verified archive into versions/.tmp-<name>-*, checks
// the tree and renames it into place. It returns the version's name, and
// existed when that name turned out to be installed already (a nightly
// whose name is only known once unpacked).
func (in *Installer) extract(ctx context.Context, l Layout, c Candidate, archivePath string, rec Receipt, force bool) (name string, existed bool, err error) {
	tmp, err := os.MkdirTemp(l.Versions(), tempPrefix+c.Name()+"-")
	if err != nil {
		return "", false, err
	}
	defer removeAll(tmp)
	unpacked := filepath.Join(tmp, "tree")
	if err := os.Mkdir(unpacked, 0o755); err != nil {
		return "", false, err
	}
	x := in.Extractor
	if x == nil {
		var progress func(done, total int64)
		if in.Progress != nil {
			progress = func(done, total int64) { in.Progress("extract "+c.File.Filename, done, total) }
		}
		x = ArchiveExtractor(progress)
	}
	if err := x.Extract(ctx, archivePath, unpacked); err != nil {
		return "", false, fmt.Errorf("extract %s: %w", c.File.Filename, err)
	}
	top, err := topDir(unpacked)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", c.File.Filename, err)
	}
	if err := checkTopName(c, top); err != nil {
		return "", false, err
	}
	if err := settleTree(top); err != nil {
		return "", false, fmt.Errorf("%s: %w", c.File.Filename, err)
	}
	name = c.Name()
	if c.Version.IsNightly() {
		name = filepath.Base(top)
	}
	if findExecutable(top, c.Version.PythonVersion) == "" {
		return "", false, fmt.Errorf("%s is not a PyPy release tree: it has no %s", c.File.Filename, strings.Join(interpreterNames(c.Version.PythonVersion), " or "))
	}
	final := filepath.Join(l.Versions(), name)
	if _, err := os.Lstat(final); err == nil {
		if !force {
			return name, true, nil
		}
		if err := removeTree(l, final); err != nil {
			return "", false, err
		}
	}
	// The receipt goes first: a receipt without a directory is ignored,
	// a directory is the install.
	rec.Name = name
	if err := writeReceipt(l, rec); err != nil {
		return "", false, err
	}
	if err := os.Rename(top, final); err != nil {
		return "", false, fmt.Errorf("move %s into place: %w", name, err)
	}
	return name, false, nil
}

// topDir returns the single directory an archive unpacked into.
func topDir(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return "", fmt.Errorf("archive must hold one top directory, found %d entries (%s)", len(ents), strings.Join(names, ", "))
	}
	return filepath.Join(dir, ents[0].Name()), nil
}

// sumsURLFor is SHA256SUMS in the archive URL's directory.
func sumsURLFor(u *url.URL) *url.URL {
	v := *u
	v.Path = path.Join(path.Dir(u.Path), sums.Name)
	v.RawPath = ""
	return &v
}
