package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/packaging/oci"
	"github.com/pypyctl/pypyctl/platforms"
)

// OCIOptions configure OCI.
type OCIOptions struct {
	Trees
	Release *platforms.Release
	// Targets are Linux targets with a Debian architecture.
	Targets []*platforms.Target
	// Image is the index to make and where it goes; OCI fills in what
	// comes from the release, the matrix and the trees, the package
	// cache, the work directory and the log.
	Image oci.PackageOptions
}

// OCI makes the multi-arch image index of a release (`pypyctl package
// oci`): each target's tree from the store (built if missing), then
// oci.Package over them.
func OCI(ctx context.Context, o OCIOptions) (*oci.Report, error) {
	po := o.Image
	po.Inputs = nil
	for _, t := range o.Targets {
		tr, err := o.tree(ctx, o.Release, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		po.Inputs = append(po.Inputs, oci.Input{Target: t, Tree: tr.Dir, VM: tr.Report.VM, Inputs: tr.Inputs})
	}
	if err := os.MkdirAll(o.Dirs.Cache, 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	work, err := os.MkdirTemp(o.Dirs.Cache, "oci-work-")
	if err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	po.Release, po.Project, po.MatrixName = o.Release, o.Matrix.Project, o.Matrix.Path
	po.CacheDir, po.WorkDir, po.Logger = filepath.Join(o.Dirs.Downloads(), "debian"), work, o.Logger
	return oci.Package(ctx, po)
}
