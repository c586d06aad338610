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
	"time"
)

// EntryType is the kind of an archive entry.
type EntryType string

// Entry types List reports.
const (
	EntryDir      EntryType = "dir"
	EntryFile     EntryType = "file"
	EntrySymlink  EntryType = "symlink"
	EntryHardlink EntryType = "hardlink"
	EntryOther    EntryType = "other" // devices, fifos, anything Extract refuses
)

// Entry is one member of an archive as stored, unchecked.
type Entry struct {
	Name    string
	Type    EntryType
	Mode    fs.FileMode // permission bits as stored
	Size    int64
	Link    string // symlink or hard-link target
	ModTime time.Time
	UID     int
	GID     int
	Uname   string
	Gname   string
}

// List returns an archive's entries in stored order without extracting
// anything (a compressed tar is still decompressed to read it).
func List(ctx context.Context, archivePath string) (_ []Entry, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("list %s: %w", archivePath, err)
		}
	}()
	f, err := FormatOf(archivePath)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(archivePath)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if f == Zip {
		st, err := file.Stat()
		if err != nil {
			return nil, err
		}
		zr, err := zip.NewReader(file, st.Size())
		if err != nil {
			return nil, corrupt(err)
		}
		var out []Entry
		for _, zf := range zr.File {
			m := zipMode(zf)
			e := Entry{Name: zf.Name, Mode: m.Perm(), Size: int64(zf.UncompressedSize64), ModTime: zf.Modified}
			switch {
			case m.IsDir():
				e.Type = EntryDir
			case m&fs.ModeSymlink != 0:
				e.Type = EntrySymlink
				if e.Link, err = readZipLink(zf); err != nil {
					return nil, err
				}
			case m.IsRegular():
				e.Type = EntryFile
			default:
				e.Type = EntryOther
			}
			out = append(out, e)
		}
		return out, nil
	}
	zr, closeFn, err := decompressor(bufio.NewReaderSize(file, 1<<20), f)
	if err != nil {
		return nil, corrupt(err)
	}
	defer closeFn()
	tr := tar.NewReader(zr)
	var out []Entry
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, corrupt(err)
		}
		e := Entry{Name: h.Name, Mode: fs.FileMode(h.Mode) & fs.ModePerm, Size: h.Size, Link: h.Linkname,
			ModTime: h.ModTime, UID: h.Uid, GID: h.Gid, Uname: h.Uname, Gname: h.Gname}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = EntryDir
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			e.Type = EntryFile
		case tar.TypeSymlink:
			e.Type = EntrySymlink
		case tar.TypeLink:
			e.Type = EntryHardlink
		case tar.TypeXGlobalHeader:
			continue
		default:
			e.Type = EntryOther
		}
		out = append(out, e)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, corrupt(err)
	}
	return out, nil
}
