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
}

// Available lists, in index order, the entries of the index at loc that
// have an archive for this host, one archive each (the one install would
// pick).
func (in *Installer) Available(ctx context.Context, loc string) ([]Available, error) {
	host, err := in.host()
	if err != nil {
		return nil, err
	}
	li, err := in.fetcher("").loadIndex(ctx, loc)
	if err != nil {
		return nil, err
	}
	installed, err := ListInstalled(in.layout())
	if err != nil {
		return nil, err
	}
	var out []Available
	for _, v := range li.ix.Normalize() {
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
		}
		for _, i := range installed {
			if i.Name == a.Name || (i.Receipt != nil && c.File.SHA256 != "" && i.Receipt.SHA256 == c.File.SHA256) {
				a.Installed = true
			}
		}
		out = append(out, a)
	}
	return out, nil
}
