package bazel

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Write puts the generated files into dir, each through a temporary file
// renamed into place, so a failed run leaves no half-written file.
func (r *Result) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	for _, f := range r.Files {
		if err := fsutil.WriteFileAtomic(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
