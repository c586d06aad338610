package apt

import (
	"context"
	"fmt"
	"path/filepath"
)

// Report is a repository Publish updated: Add's result, the public key
// written into the repository and a sources line that uses it.
type Report struct {
	*Result
	Keyring    string `json:"keyring"`     // binary public key in the repository
	KeyringASC string `json:"keyring_asc"` // armored
	SourceLine string `json:"source_line"` // a deb822-style one-line example
}

// Publish adds the packages (Add) and writes the signing key's public
// half into the repository as <origin>-archive-keyring.gpg (what apt's
// signed-by= reads) and <origin>-archive-keyring.asc.
func Publish(ctx context.Context, o Options) (*Report, error) {
	res, err := Add(ctx, o)
	if err != nil {
		return nil, err
	}
	o.defaults()
	rep := &Report{Result: res,
		Keyring:    filepath.Join(o.Repo, o.Origin+"-archive-keyring.gpg"),
		KeyringASC: filepath.Join(o.Repo, o.Origin+"-archive-keyring.asc"),
	}
	if err := ExportPublic(o.Key, rep.KeyringASC, rep.Keyring); err != nil {
		return nil, err
	}
	rep.SourceLine = fmt.Sprintf("deb [signed-by=/etc/apt/keyrings/%s] file:%s %s %s", filepath.Base(rep.Keyring), o.Repo, o.Suite, o.Component)
	return rep, nil
}
