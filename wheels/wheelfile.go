package wheels

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// file is one member of a wheel. Wheels are small enough to hold in
// memory, which keeps repair a pure function of the input bytes.
type file struct {
	Name string
	Mode os.FileMode
	Data []byte
}

// readWheel reads every regular member of a wheel.
func readWheel(path string) ([]file, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("open wheel %s: %w", path, err)
	}
	defer zr.Close()
	var out []file
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/") {
			continue
		}
		if !filepath.IsLocal(zf.Name) {
			return nil, fmt.Errorf("wheel %s: member %q escapes the wheel", path, zf.Name)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("wheel %s: %s: %w", path, zf.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("wheel %s: %s: %w", path, zf.Name, err)
		}
		mode := zf.Mode().Perm()
		if mode == 0 {
			mode = 0o644
		}
		out = append(out, file{Name: zf.Name, Mode: mode, Data: b})
	}
	return out, nil
}

// distInfo is the wheel's .dist-info directory.
func distInfo(files []file) (string, error) {
	dirs := map[string]bool{}
	for _, f := range files {
		top, _, _ := strings.Cut(f.Name, "/")
		if strings.HasSuffix(top, ".dist-info") {
			dirs[top] = true
		}
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("want exactly one .dist-info directory, found %d", len(dirs))
	}
	for d := range dirs {
		return d, nil
	}
	return "", nil
}

// recordHash is RECORD's hash form: sha256=<urlsafe base64, no padding>.
func recordHash(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256=" + base64.RawURLEncoding.EncodeToString(s[:])
}

// checkRecord compares RECORD with the members: every member listed with
// its hash and size, nothing listed that is missing.
func checkRecord(files []file, info string) []string {
	var rec *file
	for i := range files {
		if files[i].Name == info+"/RECORD" {
			rec = &files[i]
		}
	}
	if rec == nil {
		return []string{"RECORD: missing " + info + "/RECORD"}
	}
	rows, err := csv.NewReader(bytes.NewReader(rec.Data)).ReadAll()
	if err != nil {
		return []string{"RECORD: " + err.Error()}
	}
	listed := map[string][]string{}
	for _, r := range rows {
		if len(r) != 3 {
			return []string{fmt.Sprintf("RECORD: row %q: want path,hash,size", r)}
		}
		listed[r[0]] = r
	}
	var probs []string
	for _, f := range files {
		r, ok := listed[f.Name]
		delete(listed, f.Name)
		switch {
		case !ok:
			probs = append(probs, "RECORD: "+f.Name+" is not listed")
		case f.Name == rec.Name || strings.HasSuffix(f.Name, ".jws") || strings.HasSuffix(f.Name, ".p7s"):
		case r[1] != recordHash(f.Data):
			probs = append(probs, fmt.Sprintf("RECORD: %s: hash %s, file has %s", f.Name, r[1], recordHash(f.Data)))
		case r[2] != strconv.Itoa(len(f.Data)):
			probs = append(probs, fmt.Sprintf("RECORD: %s: size %s, file has %d", f.Name, r[2], len(f.Data)))
		}
	}
	for n := range listed {
		probs = append(probs, "RECORD: lists "+n+", which the wheel does not hold")
	}
	sort.Strings(probs)
	return probs
}

// writeRecord replaces RECORD with one that lists every member.
func writeRecord(files []file, info string) []file {
	name := info + "/RECORD"
	var out []file
	for _, f := range files {
		if f.Name != name {
			out = append(out, f)
		}
	}
	sortMembers(out)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, f := range out {
		w.Write([]string{f.Name, recordHash(f.Data), strconv.Itoa(len(f.Data))})
	}
	w.Write([]string{name, "", ""})
	w.Flush()
	return append(out, file{Name: name, Mode: 0o644, Data: b.Bytes()})
}

// sortMembers orders members by name with the .dist-info directory last,
// as the wheel spec recommends, so installers see metadata after files.
func sortMembers(files []file) {
	sort.Slice(files, func(i, j int) bool {
		a, b := strings.Contains(files[i].Name, ".dist-info/"), strings.Contains(files[j].Name, ".dist-info/")
		if a != b {
			return b
		}
		return files[i].Name < files[j].Name
	})
}

// Epoch is the zip timestamp for SOURCE_DATE_EPOCH; zip cannot hold times
// before 1980, so older epochs clamp to 1980-01-01.
func epochTime(epoch int64) time.Time {
	t := time.Unix(epoch, 0).UTC()
	if min := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(min) {
		return min
	}
	return t
}

// writeWheel writes members (RECORD last) as a reproducible zip: fixed
// order, fixed times, fixed modes, deflate. It writes a temp file and
// renames, so a failed write leaves nothing behind. archive/zip is enough
// here; packaging/archive's zip writer packs directory trees, not members
// held in memory.
func writeWheel(path string, files []file, epoch int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".wheel-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	mod := epochTime(epoch)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: mod}
		mode := os.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if _, err := w.Write(f.Data); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Normalize rewrites a wheel reproducibly (sorted members, RECORD
// regenerated, times from epoch) at out.
func Normalize(in, out string, epoch int64) error {
	files, err := readWheel(in)
	if err != nil {
		return err
	}
	info, err := distInfo(files)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return writeWheel(out, writeRecord(files, info), epoch)
}
