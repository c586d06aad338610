package publish

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// writeIndex writes DEST/versions.json. When its bytes change, a
// signature of the old bytes (versions.json.sig, .sigstore.json) would
// make every install that trusts a key fail, so it is removed with a
// warning to re-sign (`pypyctl release` with a key re-signs itself).
func writeIndex(path string, ix index.Index) (warning string, err error) {
	var b bytes.Buffer
	if err := ix.Encode(&b); err != nil {
		return "", err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b.Bytes()) {
		return "", nil
	}
	if err := fsutil.WriteFileAtomic(path, b.Bytes(), 0o644); err != nil {
		return "", err
	}
	var removed []string
	for _, ext := range []string{".sig", ".sigstore.json"} {
		err := os.Remove(path + ext)
		if err == nil {
			removed = append(removed, filepath.Base(path+ext))
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	if len(removed) == 0 {
		return "", nil
	}
	return fmt.Sprintf("%s changed, so its old signature (%v) was removed; re-sign it with `pypyctl sign %s`", path, removed, path), nil
}
