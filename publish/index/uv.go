package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// UVDownload is one entry of uv's download-metadata.json, the catalogue
// UV_PYTHON_DOWNLOADS_JSON_URL points uv at. Field names, order and null
// handling follow uv's own file.
type UVDownload struct {
	Name       string  `json:"name"`
	Arch       UVArch  `json:"arch"`
	OS         string  `json:"os"`
	Libc       string  `json:"libc"`
	Major      int     `json:"major"`
	Minor      int     `json:"minor"`
	Patch      int     `json:"patch"`
	Prerelease string  `json:"prerelease"`
	URL        string  `json:"url"`
	SHA256     *string `json:"sha256"`
	Variant    *string `json:"variant"`
	Build      string  `json:"build"`
}

// UVArch is uv's architecture: a family and an optional micro-architecture
// variant (always null for PyPy).
type UVArch struct {
	Family  string  `json:"family"`
	Variant *string `json:"variant"`
}

// UVEntry is a catalogue key with its download.
type UVEntry struct {
	Key      string
	Download UVDownload
}

// uvArch and uvOS translate versions.json pairs the way uv's own
// generator does.
func uvArch(arch string) (string, bool) {
	switch arch {
	case "x64":
		return "x86_64", true
	case "x86", "i686":
		return "i686", true
	case "aarch64", "arm64":
		return "aarch64", true
	case "s390x":
		return "s390x", true
	}
	return "", false
}

func uvOS(platform string) (string, bool) {
	switch platform {
	case "linux", "darwin":
		return platform, true
	case "win64", "win32":
		return "windows", true
	}
	return "", false
}

// UVCatalogue derives uv's catalogue from an index. Like uv's generator it
// keeps stable releases of Python ≥ 3.7 only, one download per (Python
// version, os, arch): the newest PyPy, and among its formats the first of
// Formats() (uv reads tar.gz best; tar.bz2 last). Keys look like
// "pypy-3.11.13-linux-x86_64-gnu"; entries are ordered by Python version,
// newest first, then by key.
func UVCatalogue(ix Index) []UVEntry {
	type pick struct {
		entry UVEntry
		pypy  string
		rank  int
	}
	picks := map[string]*pick{}
	for _, v := range ix {
		if !v.Stable || v.IsNightly() || IsPrerelease(v.PyPyVersion) {
			continue
		}
		parts, ok := VersionParts(v.PythonVersion)
		if !ok || len(parts) != 3 || parts[0] < 3 || (parts[0] == 3 && parts[1] < 7) {
			continue
		}
		for _, f := range v.Files {
			arch, ok1 := uvArch(f.Arch)
			os, ok2 := uvOS(f.Platform)
			_, format, ok3 := SplitFormat(f.Filename)
			// uv downloads only absolute URLs; relative ones (a portable
			// index without a base URL) are left out.
			if !ok1 || !ok2 || !ok3 || !strings.Contains(f.DownloadURL, "://") {
				continue
			}
			libc := "none"
			if os == "linux" {
				libc = "gnu"
			}
			key := fmt.Sprintf("pypy-%s-%s-%s-%s", v.PythonVersion, os, arch, libc)
			rank := formatRank(format)
			cur := picks[key]
			if cur != nil {
				c := CompareVersions(v.PyPyVersion, cur.pypy)
				if c < 0 || (c == 0 && rank >= cur.rank) {
					continue
				}
			}
			d := UVDownload{
				Name: "pypy", Arch: UVArch{Family: arch}, OS: os, Libc: libc,
				Major: parts[0], Minor: parts[1], Patch: parts[2],
				URL: f.DownloadURL, Build: v.PyPyVersion,
			}
			if f.SHA256 != "" {
				sum := f.SHA256
				d.SHA256 = &sum
			}
			picks[key] = &pick{entry: UVEntry{Key: key, Download: d}, pypy: v.PyPyVersion, rank: rank}
		}
	}
	out := make([]UVEntry, 0, len(picks))
	for _, p := range picks {
		out = append(out, p.entry)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Download, out[j].Download
		if a.Major != b.Major {
			return a.Major > b.Major
		}
		if a.Minor != b.Minor {
			return a.Minor > b.Minor
		}
		if a.Patch != b.Patch {
			return a.Patch > b.Patch
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func formatRank(format string) int {
	for i, f := range Formats() {
		if f == format {
			return i
		}
	}
	return len(Formats())
}

// EncodeUVCatalogue writes entries as one JSON object in their order
// (encoding/json would sort map keys, losing newest-first).
func EncodeUVCatalogue(w io.Writer, entries []UVEntry) error {
	var buf bytes.Buffer
	buf.WriteString("{")
	for i, e := range entries {
		if i > 0 {
			buf.WriteString(",")
		}
		key, err := json.Marshal(e.Key)
		if err != nil {
			return err
		}
		var val bytes.Buffer
		enc := json.NewEncoder(&val)
		enc.SetEscapeHTML(false)
		enc.SetIndent("  ", "  ")
		if err := enc.Encode(e.Download); err != nil {
			return err
		}
		fmt.Fprintf(&buf, "\n  %s: %s", key, bytes.TrimRight(val.Bytes(), "\n"))
	}
	if len(entries) > 0 {
		buf.WriteString("\n")
	}
	buf.WriteString("}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// ParseUVCatalogue reads a download-metadata.json document into a map.
func ParseUVCatalogue(r io.Reader) (map[string]UVDownload, error) {
	var m map[string]UVDownload
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("download-metadata.json: %w", err)
	}
	return m, nil
}
