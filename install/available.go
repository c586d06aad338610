package install

import (
	"context"

	"github.com/pypyctl/pypyctl/publish/index"
)

// Available is one index entry this host can install.
type Available struct {
	PythonVersion string `json:"python_version"`
	PyPyVersion   string `json:"pypy_version"`
	Stable        bool   `json:"stable"`
	Latest        bool   `json:"latest_pypy"`
	Filename      string `json:"filename"`
	URL           string `json:"url"`
	SHA256        string `json:"sha256,omitempty"`
	Name          string `json:"name"`
	Installed     bool   `json:"installed"`
	// Source is where the entry comes from, SourceFrom what configured
	// that source; Shadowed is true when an earlier source offers the
	// same Python and PyPy version (so install takes that one).
	Source     string `json:"source"`
	SourceFrom string `json:"source_from"`
	Shadowed   bool   `json:"shadowed,omitempty"`
	// SourceNumber is the source's 1-based place in the search order.
	SourceNumber int `json:"source_number"`
	// Installable is false for a catalogue entry with no published
	// sha256: install refuses it rather than install unverified bytes.
	Installable bool `json:"installable"`
}

// Available lists, source by source in search order and in each source's
// order, the entries that have an archive for this host, one archive each
// (the one install would pick).
func (in *Installer) Available(ctx context.Context, o Options) ([]Available, error) {
	host, err := in.host()
	if err != nil {
		return nil, err
	}
	installed, err := ListInstalled(in.layout())
	if err != nil {
		return nil, err
	}
	var out []Available
	seen := map[string]bool{}
	f := in.fetcher("")
	for i, s := range o.sourcesOf() {
		li, err := f.loadSource(ctx, s)
		if err != nil {
			return nil, err
		}
		for _, a := range available(li, host, installed, seen) {
			a.SourceNumber = i + 1
			out = append(out, a)
		}
	}
	return out, nil
}

func available(li *loadedIndex, host index.Platform, installed []Installed, seen map[string]bool) []Available {
	var out []Available
	for _, v := range li.Index.Normalize() {
		r := Request{PyPy: v.PyPyVersion, Python: v.PythonVersion}
		c, err := Resolve(index.Index{v}, r, host)
		if err != nil {
			continue
		}
		u, err := li.fileURL(c.File)
		if err != nil {
			continue
		}
		a := Available{
			PythonVersion: v.PythonVersion, PyPyVersion: v.PyPyVersion, Stable: v.Stable, Latest: v.LatestPyPy,
			Filename: c.File.Filename, URL: u.String(), SHA256: c.File.SHA256, Name: c.Name(),
			Source: li.describe(), SourceFrom: li.src.From,
		}
		a.Installable = c.File.SHA256 != "" || li.src.Kind != SourceUpstream
		key := v.PythonVersion + "@" + v.PyPyVersion
		a.Shadowed = seen[key] && !v.IsNightly()
		seen[key] = true
		for _, i := range installed {
			if i.Name == a.Name || (i.Receipt != nil && c.File.SHA256 != "" && i.Receipt.SHA256 == c.File.SHA256) {
				a.Installed = true
			}
		}
		out = append(out, a)
	}
	return out
}
