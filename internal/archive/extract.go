package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// StripComponents drops that many leading path components from every
	// entry (and hard-link target); entries left with none are skipped.
	StripComponents int
	// Progress, when set, gets the archive bytes read so far and the
	// archive's size.
	Progress func(done, total int64)
	// MaxBytes caps the file data written (0: no cap), so a small
	// archive cannot expand to fill the disk.
	MaxBytes int64
}

// TooLargeError says an archive expands to more than ExtractOptions.MaxBytes.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("archive expands to more than %d bytes", e.Limit)
}

// UnsafeEntryError is an archive entry Extract refuses to create: it
// would land or point outside the destination, or it is a device, fifo or
// duplicate.
type UnsafeEntryError struct {
	Entry  string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe archive entry %q: %s", e.Entry, e.Reason)
}

// maxLinkHops bounds symlink chains, as the kernel's ELOOP does.
const maxLinkHops = 40

// Extract unpacks archivePath (format from its name) into dest, which
// must not exist or be an empty directory. Modes come from the archive
// (permission bits only), mtimes are set. On error, everything written
// under dest is removed again (and dest too if Extract created it).
func Extract(ctx context.Context, archivePath, dest string, opt ExtractOptions) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("extract %s: %w", archivePath, err)
		}
	}()
	if opt.StripComponents < 0 {
		return fmt.Errorf("negative StripComponents %d", opt.StripComponents)
	}
	f, err := FormatOf(archivePath)
	if err != nil {
		return err
	}
	file, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		// A zero-length zstd file decodes as zero frames: say what it is.
		return errors.New("archive is empty (0 bytes)")
	}
	cr := &countReader{r: file, total: st.Size(), progress: opt.Progress}
	err = extractInto(ctx, dest, opt, cr.report, func(x *extractor) error {
		if f == Zip {
			return x.readZip(&countReaderAt{r: file, c: cr}, st.Size())
		}
		return x.readTar(bufio.NewReaderSize(cr, 1<<20), f)
	})
	if err == nil && opt.Progress != nil {
		opt.Progress(st.Size(), st.Size())
	}
	return err
}

// extractInto prepares dest, runs read with an extractor on it, applies
// the final checks and modes, and cleans dest up on any error.
func extractInto(ctx context.Context, dest string, opt ExtractOptions, progress func(), read func(*extractor) error) (err error) {
	created, err := prepareDest(dest)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			removeExtracted(dest, created)
		}
	}()
	x := &extractor{
		ctx:      ctx,
		dest:     dest,
		strip:    opt.StripComponents,
		nodes:    map[string]*node{},
		progress: progress,
		max:      opt.MaxBytes,
	}
	if err := read(x); err != nil {
		return err
	}
	return x.finish()
}

// prepareDest creates dest, or accepts it when it is an empty directory.
func prepareDest(dest string) (created bool, err error) {
	fi, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return false, err
		}
		if err := os.Mkdir(dest, 0o755); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case !fi.IsDir():
		return false, fmt.Errorf("destination %s exists and is not a directory", dest)
	}
	ents, err := os.ReadDir(dest)
	if err != nil {
		return false, err
	}
	if len(ents) > 0 {
		return false, fmt.Errorf("destination %s is not empty", dest)
	}
	return false, nil
}

// removeExtracted undoes a failed extraction. Directories may have been
// made read-only by the archive's modes, so they are opened up first.
func removeExtracted(dest string, created bool) {
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	if created {
		os.RemoveAll(dest)
		return
	}
	ents, _ := os.ReadDir(dest)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dest, e.Name()))
	}
}

type nodeKind uint8

const (
	nodeDir      nodeKind = iota // a directory the archive lists
	nodeImplicit                 // a directory made for an entry's parent
	nodeFile
	nodeSymlink
)

// node is what Extract created at a path, mirrored in memory so safety
// checks never have to trust the file system.
type node struct {
	kind   nodeKind
	mode   fs.FileMode // directories: applied at the end
	mtime  time.Time
	target string // symlinks
	entry  string // the archive name, for error messages
}

type extractor struct {
	ctx      context.Context
	dest     string
	strip    int
	nodes    map[string]*node // by cleaned relative slash path
	dirs     []string         // in creation order
	links    []string         // symlinks, in creation order
	buf      []byte
	progress func()
	written  int64 // file bytes so far
	max      int64 // cap on written; 0: none
}

// item is one archive entry, whatever the container format.
type item struct {
	name  string
	kind  nodeKind // nodeDir, nodeFile or nodeSymlink
	hard  bool     // a hard link to link
	link  string
	mode  fs.FileMode
	mtime time.Time
	body  io.Reader
}

func corrupt(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("corrupt or truncated archive: %w", err)
}

func (x *extractor) readTar(r io.Reader, f Format) error {
	zr, closeFn, err := decompressor(r, f)
	if err != nil {
		return corrupt(err)
	}
	defer closeFn()
	tr := tar.NewReader(zr)
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return corrupt(err)
		}
		if isSparse(h) {
			// A few bytes of sparse map can stand for terabytes of holes.
			return &UnsafeEntryError{h.Name, "sparse file (not supported)"}
		}
		it := item{name: h.Name, mode: fs.FileMode(h.Mode) & 0o777, mtime: h.ModTime, link: h.Linkname}
		switch h.Typeflag {
		case tar.TypeDir:
			it.kind = nodeDir
		case tar.TypeReg, tar.TypeRegA:
			it.kind, it.body = nodeFile, tr
		case tar.TypeSymlink:
			it.kind = nodeSymlink
		case tar.TypeLink:
			it.kind, it.hard = nodeFile, true
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeChar, tar.TypeBlock:
			return &UnsafeEntryError{h.Name, "device file"}
		case tar.TypeFifo:
			return &UnsafeEntryError{h.Name, "named pipe"}
		default:
			return &UnsafeEntryError{h.Name, fmt.Sprintf("unsupported entry type %q", h.Typeflag)}
		}
		if err := x.add(it); err != nil {
			return err
		}
	}
	// Read to the end of the compressed stream so its checksum (and any
	// damage after the tar trailer) is checked too.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return corrupt(err)
	}
	return nil
}

// isSparse tells GNU sparse entries, old-style or PAX-encoded.
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func (x *extractor) readZip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return corrupt(err)
	}
	for _, zf := range zr.File {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		mode := zipMode(zf)
		it := item{name: zf.Name, mode: mode.Perm(), mtime: zf.Modified}
		switch {
		case mode.IsDir():
			it.kind = nodeDir
		case mode&fs.ModeSymlink != 0:
			it.kind = nodeSymlink
			target, err := readZipLink(zf)
			if err != nil {
				return err
			}
			it.link = target
		case mode.IsRegular():
			it.kind = nodeFile
		case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			return &UnsafeEntryError{zf.Name, "device file"}
		case mode&fs.ModeNamedPipe != 0:
			return &UnsafeEntryError{zf.Name, "named pipe"}
		default:
			return &UnsafeEntryError{zf.Name, "special file"}
		}
		if it.kind != nodeFile {
			if err := x.add(it); err != nil {
				return err
			}
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return corrupt(fmt.Errorf("%s: %w", zf.Name, err))
		}
		it.body = rc
		err = x.add(it)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// zipMode is the entry's mode: Unix bits when a Unix zip stored them,
// else 0755 for directories and 0644 for files (DOS attributes would give
// world-writable files).
func zipMode(zf *zip.File) fs.FileMode {
	creator := zf.CreatorVersion >> 8
	if (creator == 3 || creator == 19) && zf.ExternalAttrs>>16 != 0 {
		return zf.Mode()
	}
	if strings.HasSuffix(zf.Name, "/") || zf.Mode().IsDir() {
		return fs.ModeDir | 0o755
	}
	return 0o644
}

func readZipLink(zf *zip.File) (string, error) {
	rc, err := zf.Open()
	if err != nil {
		return "", corrupt(fmt.Errorf("%s: %w", zf.Name, err))
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return "", corrupt(fmt.Errorf("%s: %w", zf.Name, err))
	}
	if len(b) > 4096 {
		return "", &UnsafeEntryError{zf.Name, "symlink target longer than 4096 bytes"}
	}
	return string(b), nil
}

// clean checks an entry name and returns it relative to dest after
// stripping, or "" when nothing is left of it.
func (x *extractor) clean(name string) (string, error) {
	switch {
	case name == "":
		return "", &UnsafeEntryError{name, "empty name"}
	case strings.HasPrefix(name, "/"):
		return "", &UnsafeEntryError{name, "absolute path"}
	case strings.ContainsAny(name, "\\\x00"):
		return "", &UnsafeEntryError{name, "backslash or NUL in name"}
	case len(name) >= 2 && name[1] == ':':
		return "", &UnsafeEntryError{name, "drive-letter path"}
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return "", &UnsafeEntryError{name, "path contains \"..\""}
		default:
			parts = append(parts, p)
		}
	}
	if len(parts) <= x.strip {
		return "", nil
	}
	return path.Join(parts[x.strip:]...), nil
}

func (x *extractor) abs(rel string) string {
	return filepath.Join(x.dest, filepath.FromSlash(rel))
}

// parents makes sure every parent of rel is a directory Extract created,
// never a symlink or a file, creating missing ones.
func (x *extractor) parents(rel, entry string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		n := x.nodes[p]
		switch {
		case n == nil:
			if err := os.Mkdir(x.abs(p), 0o700); err != nil {
				return err
			}
			x.nodes[p] = &node{kind: nodeImplicit, mode: 0o755, entry: entry}
			x.dirs = append(x.dirs, p)
		case n.kind == nodeSymlink:
			return &UnsafeEntryError{entry, fmt.Sprintf("its parent %q is a symlink", p)}
		case n.kind == nodeFile:
			return &UnsafeEntryError{entry, fmt.Sprintf("its parent %q is a file", p)}
		}
	}
	return nil
}

func (x *extractor) add(it item) error {
	rel, err := x.clean(it.name)
	if err != nil || rel == "" {
		return err
	}
	if err := x.parents(rel, it.name); err != nil {
		return err
	}
	if old := x.nodes[rel]; old != nil {
		if old.kind == nodeImplicit && it.kind == nodeDir && !it.hard {
			old.kind, old.mode, old.mtime = nodeDir, it.mode, it.mtime
			return nil
		}
		return &UnsafeEntryError{it.name, "duplicate entry"}
	}
	dst := x.abs(rel)
	switch {
	case it.hard:
		err = x.hardlink(rel, it)
	case it.kind == nodeDir:
		if err = os.Mkdir(dst, 0o700); err == nil {
			x.nodes[rel] = &node{kind: nodeDir, mode: it.mode, mtime: it.mtime, entry: it.name}
			x.dirs = append(x.dirs, rel)
		}
	case it.kind == nodeSymlink:
		err = x.symlink(rel, it)
	default:
		err = x.file(rel, it)
	}
	if err != nil {
		return err
	}
	x.progress()
	return nil
}

func (x *extractor) file(rel string, it item) error {
	dst := x.abs(rel)
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	x.nodes[rel] = &node{kind: nodeFile, entry: it.name}
	if x.buf == nil {
		x.buf = make([]byte, 1<<20)
	}
	for {
		if err := x.ctx.Err(); err != nil {
			out.Close()
			return err
		}
		n, rerr := it.body.Read(x.buf)
		x.written += int64(n)
		if x.max > 0 && x.written > x.max {
			out.Close()
			return &TooLargeError{Limit: x.max}
		}
		if n > 0 {
			if _, err := out.Write(x.buf[:n]); err != nil {
				out.Close()
				return err
			}
			x.progress()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			out.Close()
			return corrupt(fmt.Errorf("%s: %w", it.name, rerr))
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	// Chmod, not the create mode: the umask must not change the result.
	if err := os.Chmod(dst, it.mode&0o777); err != nil {
		return err
	}
	return os.Chtimes(dst, it.mtime, it.mtime)
}

func (x *extractor) symlink(rel string, it item) error {
	if it.link == "" {
		return &UnsafeEntryError{it.name, "symlink with an empty target"}
	}
	if err := x.checkLink(rel, it.link, it.name); err != nil {
		return err
	}
	dst := x.abs(rel)
	if err := os.Symlink(it.link, dst); err != nil {
		return err
	}
	x.nodes[rel] = &node{kind: nodeSymlink, target: it.link, mtime: it.mtime, entry: it.name}
	x.links = append(x.links, rel)
	return setLinkTime(dst, it.mtime)
}

// checkLink resolves target from the link's directory through the
// symlinks known so far and refuses it if it leaves the root.
func (x *extractor) checkLink(rel, target, entry string) error {
	dir := path.Dir(rel)
	var stack []string
	if dir != "." {
		stack = strings.Split(dir, "/")
	}
	hops := 0
	if _, err := x.resolve(stack, target, &hops); err != nil {
		return &UnsafeEntryError{entry, fmt.Sprintf("symlink to %q: %v", target, err)}
	}
	return nil
}

var (
	errEscapes = errors.New("it leads outside the destination")
	errLoop    = errors.New("too many levels of symlinks")
)

// resolve walks target from the directory stack the way the kernel
// would, following symlinks already extracted.
func (x *extractor) resolve(stack []string, target string, hops *int) ([]string, error) {
	if strings.HasPrefix(target, "/") {
		return nil, errEscapes
	}
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return nil, errEscapes
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		n := x.nodes[path.Join(stack...)]
		if n == nil || n.kind != nodeSymlink {
			continue
		}
		if *hops++; *hops > maxLinkHops {
			return nil, errLoop
		}
		var err error
		if stack, err = x.resolve(slices.Clone(stack[:len(stack)-1]), n.target, hops); err != nil {
			return nil, err
		}
	}
	return stack, nil
}

func (x *extractor) hardlink(rel string, it item) error {
	target, err := x.clean(it.link)
	if err != nil {
		return &UnsafeEntryError{it.name, fmt.Sprintf("hard link to %q outside the destination", it.link)}
	}
	n := x.nodes[target]
	if target == "" || n == nil {
		return &UnsafeEntryError{it.name, fmt.Sprintf("hard link to %q, which is not an earlier entry", it.link)}
	}
	if n.kind != nodeFile {
		return &UnsafeEntryError{it.name, fmt.Sprintf("hard link to %q, which is not a regular file", it.link)}
	}
	if err := os.Link(x.abs(target), x.abs(rel)); err != nil {
		return err
	}
	x.nodes[rel] = &node{kind: nodeFile, entry: it.name}
	return nil
}

// finish checks every symlink again against the complete tree (a later
// link can change where an earlier one leads), then applies directory
// modes and mtimes, deepest first so setting one does not touch another.
func (x *extractor) finish() error {
	for _, rel := range x.links {
		n := x.nodes[rel]
		if err := x.checkLink(rel, n.target, n.entry); err != nil {
			return err
		}
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		rel := x.dirs[i]
		n := x.nodes[rel]
		p := x.abs(rel)
		if err := os.Chmod(p, n.mode&0o777); err != nil {
			return err
		}
		if !n.mtime.IsZero() {
			if err := os.Chtimes(p, n.mtime, n.mtime); err != nil {
				return err
			}
		}
	}
	return nil
}

// countReader counts the archive bytes read, for progress.
type countReader struct {
	r        io.Reader
	n, total int64
	progress func(done, total int64)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countReader) report() {
	if c.progress != nil {
		c.progress(min(c.n, c.total), c.total)
	}
}

type countReaderAt struct {
	r io.ReaderAt
	c *countReader
}

func (c *countReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.c.n += int64(n)
	return n, err
}

// TopDir returns the single top-level directory all entries of an archive
// share, reading only the entry list.
func TopDir(ctx context.Context, archivePath string) (string, error) {
	entries, err := List(ctx, archivePath)
	if err != nil {
		return "", err
	}
	top := ""
	for _, e := range entries {
		first, rest, _ := strings.Cut(strings.TrimPrefix(path.Clean(e.Name), "./"), "/")
		if first == "." || first == "" {
			continue
		}
		if rest == "" && e.Type != EntryDir {
			return "", fmt.Errorf("%s: %q at the top level is not a directory", archivePath, e.Name)
		}
		if top != "" && first != top {
			return "", fmt.Errorf("%s: more than one top-level entry (%q and %q)", archivePath, top, first)
		}
		top = first
	}
	if top == "" {
		return "", fmt.Errorf("%s: archive is empty", archivePath)
	}
	return top, nil
}
