package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Manifest lists every entry of a stored directory, one line each, sorted
// by path: "f <mode> <size> <sha256> <path>", "l - - <target> <path>" or
// "d <mode> - - <path>". Paths are slash-separated and relative.
type Manifest []byte

// BuildManifest walks dir and describes it.
func BuildManifest(dir string) (Manifest, error) {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\n") {
			return fmt.Errorf("path with newline not storable: %q", rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("l - - %s %s", t, rel))
		case d.IsDir():
			lines = append(lines, fmt.Sprintf("d %04o - - %s", info.Mode().Perm(), rel))
		case d.Type().IsRegular():
			sum, err := hashFile(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("f %04o %d %s %s", info.Mode().Perm(), info.Size(), sum, rel))
		default:
			return fmt.Errorf("%s: unsupported file type %v", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	sort.Slice(lines, func(i, j int) bool { return pathOf(lines[i]) < pathOf(lines[j]) })
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// pathOf returns the path field of a manifest line (the fifth field; link
// targets hold no spaces in PyPy trees, paths may).
func pathOf(line string) string {
	f := strings.SplitN(line, " ", 5)
	if len(f) < 5 {
		return line
	}
	return f[4]
}

// Files returns the regular-file lines' paths, digests and sizes.
func (m Manifest) Files() []ManifestFile {
	var out []ManifestFile
	sc := bufio.NewScanner(bytes.NewReader(m))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 5)
		if len(f) == 5 && f[0] == "f" {
			var size int64
			fmt.Sscan(f[2], &size)
			out = append(out, ManifestFile{Path: f[4], SHA256: f[3], Size: size})
		}
	}
	return out
}

// ManifestFile is one regular file of a manifest.
type ManifestFile struct {
	Path   string
	SHA256 string
	Size   int64
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
