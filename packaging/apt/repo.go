package apt

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/packaging/deb"
)

// Options describe one update of a repository.
type Options struct {
	Repo      string // the repository root (what a sources.list URI points at)
	Suite     string // dists/<Suite>
	Codename  string // default: Suite
	Component string // default: main
	Origin    string // default: pypyctl
	Label     string // default: Origin
	// Description goes into Release; empty leaves it out.
	Description string
	Debs        []string // packages to add; none re-indexes and re-signs
	Key         *Key
	// Date is the Release's Date. Zero means the newest package's
	// SOURCE_DATE_EPOCH (the .debs' ar mtime). Either way it is never
	// earlier than the Release being replaced, so the same inputs give the
	// same Release and the Date never goes backwards.
	Date   time.Time
	Logger *slog.Logger // nil: log nothing
}

// defaults fills in the defaults the fields name.
func (o *Options) defaults() {
	if o.Component == "" {
		o.Component = "main"
	}
	if o.Codename == "" {
		o.Codename = o.Suite
	}
	if o.Origin == "" {
		o.Origin = "pypyctl"
	}
	if o.Label == "" {
		o.Label = o.Origin
	}
}

// Entry is one package the update was given.
type Entry struct {
	Package      string `json:"package"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	Filename     string `json:"filename"` // relative to the repository root
	SHA256       string `json:"sha256"`
	Added        bool   `json:"added"` // false: already in the repository, same bytes
}

// Result says what the repository holds after the update.
type Result struct {
	Repo          string   `json:"repo"`
	Suite         string   `json:"suite"`
	Component     string   `json:"component"`
	Date          string   `json:"date"`
	Architectures []string `json:"architectures"`
	Packages      []Entry  `json:"packages"`
	Indexed       int      `json:"indexed"` // packages in the suite, all components
	Release       string   `json:"release"`
	InRelease     string   `json:"in_release"`
	Fingerprint   string   `json:"fingerprint"`
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

const releaseDate = "Mon, 02 Jan 2006 15:04:05 UTC"

// index is one component/architecture's Packages stanzas.
type index struct {
	component, arch string
	stanzas         []deb.Paragraph
}

// Add puts the packages into the repository and re-signs it. Adding a
// package that is already there with the same bytes changes nothing;
// the same name, version and architecture with other bytes is refused
// (clients would see a hash mismatch), so bump the revision instead.
func Add(ctx context.Context, o Options) (*Result, error) {
	if o.Key == nil {
		return nil, errors.New("a signing key is needed")
	}
	o.defaults()
	for _, f := range [][2]string{{"suite", o.Suite}, {"codename", o.Codename}, {"component", o.Component}} {
		if !safeName.MatchString(f[1]) {
			return nil, fmt.Errorf("%s %q: use letters, digits and . _ + - only", f[0], f[1])
		}
	}
	for _, f := range [][2]string{{"origin", o.Origin}, {"label", o.Label}, {"description", o.Description}} {
		if strings.ContainsAny(f[1], "\n\r") {
			return nil, fmt.Errorf("%s must be one line", f[0])
		}
	}
	log := logging.OrDiscard(o.Logger)
	if err := os.MkdirAll(o.Repo, 0o755); err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	lock, err := fsutil.Acquire(ctx, filepath.Join(o.Repo, ".pypyctl-lock"), func() { log.Info("waiting for another update of the repository", "repo", o.Repo) })
	if err != nil {
		return nil, fmt.Errorf("lock repository: %w", err)
	}
	defer lock.Release()

	dists := filepath.Join(o.Repo, "dists", o.Suite)
	prev, err := readRelease(filepath.Join(dists, "Release"))
	if err != nil {
		return nil, err
	}
	indices, err := readIndices(dists)
	if err != nil {
		return nil, err
	}
	if len(o.Debs) == 0 && prev == nil {
		return nil, fmt.Errorf("%s has no suite %s yet and no packages were given", o.Repo, o.Suite)
	}

	date := time.Time{}
	if prev != nil {
		date = prev.date
	}
	res := &Result{Repo: o.Repo, Suite: o.Suite, Component: o.Component, Fingerprint: o.Key.Fingerprint()}
	for _, p := range o.Debs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, mtime, err := addPackage(o.Repo, o.Component, p, indices)
		if err != nil {
			return nil, err
		}
		if e.Added {
			log.Info("added", "package", e.Package, "version", e.Version, "arch", e.Architecture)
		} else {
			log.Info("already in the repository", "package", e.Package, "version", e.Version, "arch", e.Architecture)
		}
		res.Packages = append(res.Packages, *e)
		if t := time.Unix(mtime, 0).UTC(); t.After(date) {
			date = t
		}
	}
	if !o.Date.IsZero() {
		date = o.Date.UTC().Truncate(time.Second)
		// A Release older than the one it replaces looks like a replay
		// to clients that already have the newer one.
		if prev != nil && date.Before(prev.date) {
			date = prev.date
		}
	}

	// Indices: by-hash copies first (new names, never rewritten), then
	// the files in place.
	keys := make([]string, 0, len(indices))
	for k := range indices {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var files []indexFile
	archSet, compSet := map[string]bool{}, map[string]bool{}
	for _, k := range keys {
		ix := indices[k]
		archSet[ix.arch], compSet[ix.component] = true, true
		res.Indexed += len(ix.stanzas)
		fs, err := ix.files()
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	for _, f := range files {
		dir := filepath.Join(dists, filepath.FromSlash(path.Dir(f.name)), "by-hash")
		for _, h := range []struct{ kind, sum string }{{"MD5Sum", f.md5}, {"SHA256", f.sha256}} {
			p := filepath.Join(dir, h.kind, h.sum)
			if _, err := os.Stat(p); err == nil {
				continue
			}
			if err := writeFile(p, f.data); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dists, filepath.FromSlash(f.name)), f.data); err != nil {
			return nil, err
		}
	}

	res.Architectures = slices.Sorted(maps.Keys(archSet))
	rel := releaseParagraph(o, date, res.Architectures, slices.Sorted(maps.Keys(compSet)), files)
	relBytes := []byte(rel.String())
	detached, err := o.Key.DetachSign(relBytes, date)
	if err != nil {
		return nil, err
	}
	inline, err := o.Key.ClearSign(relBytes, date)
	if err != nil {
		return nil, err
	}
	res.Release = filepath.Join(dists, "Release")
	res.InRelease = filepath.Join(dists, "InRelease")
	if err := writeFile(res.Release, relBytes); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dists, "Release.gpg"), detached); err != nil {
		return nil, err
	}
	// InRelease is what apt reads first: renaming it into place is the
	// moment the update becomes visible as a whole.
	if err := writeFile(res.InRelease, inline); err != nil {
		return nil, err
	}
	if err := pruneByHash(dists, prev, files); err != nil {
		return nil, err
	}
	res.Date = date.Format(releaseDate)
	return res, nil
}

// addPackage copies one .deb into the pool (if new) and into its index.
func addPackage(repo, component, debPath string, indices map[string]*index) (*Entry, int64, error) {
	p, err := deb.Open(debPath)
	if err != nil {
		return nil, 0, err
	}
	c := p.Control
	name, version, arch := c.Get("Package"), c.Get("Version"), c.Get("Architecture")
	if name == "" || version == "" || arch == "" {
		return nil, 0, fmt.Errorf("%s: control lacks Package, Version or Architecture", debPath)
	}
	if arch == "all" {
		return nil, 0, fmt.Errorf("%s: Architecture: all packages are not supported by this repository writer", debPath)
	}
	if !safeName.MatchString(name) || !safeName.MatchString(arch) {
		return nil, 0, fmt.Errorf("%s: package %q / architecture %q are not plain names", debPath, name, arch)
	}
	if err := deb.ValidVersion(version); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", debPath, err)
	}
	md5sum, sha, size, err := hashFile(debPath)
	if err != nil {
		return nil, 0, err
	}
	initial := name[:1]
	if strings.HasPrefix(name, "lib") && len(name) > 3 {
		initial = name[:4]
	}
	rel := path.Join("pool", component, initial, name, deb.FileName(name, version, arch))
	e := &Entry{Package: name, Version: version, Architecture: arch, Filename: rel, SHA256: sha}

	key := component + "/" + arch
	ix := indices[key]
	if ix == nil {
		ix = &index{component: component, arch: arch}
		indices[key] = ix
	}
	for _, s := range ix.stanzas {
		if s.Get("Package") == name && s.Get("Version") == version {
			if s.Get("SHA256") != sha {
				return nil, 0, fmt.Errorf("%s %s (%s) is already in the repository with other contents (sha256 %s, this file %s): give the new build another revision", name, version, arch, s.Get("SHA256"), sha)
			}
			if err := placeInPool(filepath.Join(repo, filepath.FromSlash(s.Get("Filename"))), debPath, sha); err != nil {
				return nil, 0, err
			}
			e.Filename = s.Get("Filename")
			return e, p.MTime, nil
		}
	}
	if err := placeInPool(filepath.Join(repo, filepath.FromSlash(rel)), debPath, sha); err != nil {
		return nil, 0, err
	}
	stanza := append(deb.Paragraph{}, c...)
	stanza.Delete("Filename")
	stanza = append(stanza,
		deb.Field{Name: "Filename", Value: rel},
		deb.Field{Name: "Size", Value: strconv.FormatInt(size, 10)},
		deb.Field{Name: "MD5sum", Value: md5sum},
		deb.Field{Name: "SHA256", Value: sha},
	)
	ix.stanzas = append(ix.stanzas, stanza)
	e.Added = true
	return e, p.MTime, nil
}

// placeInPool copies src to dst unless dst already holds the same bytes;
// other bytes under the same pool name are never replaced.
func placeInPool(dst, src, sha string) error {
	if _, err := os.Stat(dst); err == nil {
		got, _, err := fsutil.SHA256File(dst)
		if err != nil {
			return err
		}
		if got != sha {
			return fmt.Errorf("pool file %s exists with sha256 %s, not %s: refusing to replace it", dst, got, sha)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	return fsutil.WriteAtomic(dst, 0o644, func(w io.Writer) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
}

func hashFile(p string) (md5sum, sha string, size int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	m, s := md5.New(), sha256.New()
	size, err = io.Copy(io.MultiWriter(m, s), f)
	if err != nil {
		return "", "", 0, fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(s.Sum(nil)), size, nil
}

// indexFile is one file Release lists.
type indexFile struct {
	name        string // relative to dists/<suite>
	data        []byte
	md5, sha256 string
}

func newIndexFile(name string, data []byte) indexFile {
	m := md5.Sum(data)
	s := sha256.Sum256(data)
	return indexFile{name: name, data: data, md5: hex.EncodeToString(m[:]), sha256: hex.EncodeToString(s[:])}
}

// files renders Packages, Packages.gz and Packages.xz, stanzas sorted by
// package name and then by Debian version.
func (ix *index) files() ([]indexFile, error) {
	sort.SliceStable(ix.stanzas, func(i, j int) bool {
		a, b := ix.stanzas[i], ix.stanzas[j]
		if a.Get("Package") != b.Get("Package") {
			return a.Get("Package") < b.Get("Package")
		}
		return deb.CompareVersions(a.Get("Version"), b.Get("Version")) < 0
	})
	var plain bytes.Buffer
	for i, s := range ix.stanzas {
		if i > 0 {
			plain.WriteByte('\n')
		}
		plain.WriteString(s.String())
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Write(plain.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	var xzb bytes.Buffer
	xw, err := xz.WriterConfig{DictCap: 8 << 20, CheckSum: xz.CRC64}.NewWriter(&xzb)
	if err != nil {
		return nil, err
	}
	xw.Write(plain.Bytes())
	if err := xw.Close(); err != nil {
		return nil, err
	}
	dir := ix.component + "/binary-" + ix.arch + "/"
	return []indexFile{
		newIndexFile(dir+"Packages", plain.Bytes()),
		newIndexFile(dir+"Packages.gz", gz.Bytes()),
		newIndexFile(dir+"Packages.xz", xzb.Bytes()),
	}, nil
}

func releaseParagraph(o Options, date time.Time, archs, comps []string, files []indexFile) deb.Paragraph {
	p := deb.Paragraph{
		{Name: "Origin", Value: o.Origin},
		{Name: "Label", Value: o.Label},
		{Name: "Suite", Value: o.Suite},
		{Name: "Codename", Value: o.Codename},
		{Name: "Date", Value: date.UTC().Format(releaseDate)},
		{Name: "Acquire-By-Hash", Value: "yes"},
		{Name: "Architectures", Value: strings.Join(archs, " ")},
		{Name: "Components", Value: strings.Join(comps, " ")},
	}
	if o.Description != "" {
		p = append(p, deb.Field{Name: "Description", Value: o.Description})
	}
	var md5s, shas []string
	for _, f := range files {
		md5s = append(md5s, fmt.Sprintf("%s %8d %s", f.md5, len(f.data), f.name))
		shas = append(shas, fmt.Sprintf("%s %8d %s", f.sha256, len(f.data), f.name))
	}
	p = append(p,
		deb.Field{Name: "MD5Sum", Value: "\n" + strings.Join(md5s, "\n")},
		deb.Field{Name: "SHA256", Value: "\n" + strings.Join(shas, "\n")},
	)
	return p
}

// prevRelease is what Add needs from the Release being replaced.
type prevRelease struct {
	date   time.Time
	hashes map[string]bool // every MD5Sum and SHA256 it lists
}

func readRelease(p string) (*prevRelease, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Release: %w", err)
	}
	ps, err := deb.ParseParagraphs(bytes.NewReader(b))
	if err != nil || len(ps) != 1 {
		return nil, fmt.Errorf("%s is not a Release file (%v)", p, err)
	}
	r := &prevRelease{hashes: map[string]bool{}}
	if d := ps[0].Get("Date"); d != "" {
		if r.date, err = time.Parse(releaseDate, d); err != nil {
			return nil, fmt.Errorf("%s: Date %q: %w", p, d, err)
		}
	}
	for _, field := range []string{"MD5Sum", "SHA256"} {
		for _, line := range strings.Split(ps[0].Get(field), "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				r.hashes[f[0]] = true
			}
		}
	}
	return r, nil
}

// readIndices parses every dists/<suite>/<component>/binary-<arch>/Packages.
func readIndices(dists string) (map[string]*index, error) {
	out := map[string]*index{}
	matches, err := filepath.Glob(filepath.Join(dists, "*", "binary-*", "Packages"))
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		comp := filepath.Base(filepath.Dir(filepath.Dir(m)))
		arch := strings.TrimPrefix(filepath.Base(filepath.Dir(m)), "binary-")
		f, err := os.Open(m)
		if err != nil {
			return nil, err
		}
		ps, err := deb.ParseParagraphs(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out[comp+"/"+arch] = &index{component: comp, arch: arch, stanzas: ps}
	}
	return out, nil
}

// pruneByHash removes by-hash files that neither the new Release nor the
// one it replaced names: clients holding the previous InRelease can
// still fetch what it lists.
func pruneByHash(dists string, prev *prevRelease, files []indexFile) error {
	keep := map[string]bool{}
	if prev != nil {
		for h := range prev.hashes {
			keep[h] = true
		}
	}
	for _, f := range files {
		keep[f.md5], keep[f.sha256] = true, true
	}
	matches, err := filepath.Glob(filepath.Join(dists, "*", "binary-*", "by-hash", "*", "*"))
	if err != nil {
		return err
	}
	for _, m := range matches {
		if !keep[filepath.Base(m)] {
			if err := os.Remove(m); err != nil {
				return fmt.Errorf("prune by-hash: %w", err)
			}
		}
	}
	return nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(p, data, 0o644)
}
