package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/ci"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

func newCICmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "ci",
		Short: "Generate CI workflows from the matrix",
		Long: `Generate CI configuration from the platform matrix: one build job per
target of a release, sharing artifacts through an OCI store, and one
merge job that publishes the release.`,
		Example: "  pypyctl ci github --release pypy3.11-v7.3.20 --out .github/workflows/release.yml",
	}
	c.AddCommand(newCIGitHubCmd(a), newCIGitLabCmd(a))
	return c
}

func newCIGitLabCmd(a *App) *cobra.Command {
	var release, store, out string
	c := &cobra.Command{
		Use:   "gitlab",
		Short: "Write a GitLab CI pipeline",
		Long: `Write a GitLab CI pipeline for one release: a build job with one
parallel:matrix entry per target (runner tag = the matrix's runner label,
qemu-user installed for emulated targets) running
  pypyctl build --target T --release R --store "$PYPYCTL_STORE"
and a release job that needs every build and runs
  pypyctl release --release R --from-store "$PYPYCTL_STORE" --to public/ --sign --key "$PYPYCTL_SIGNING_KEY"
PYPYCTL_STORE (oci://REGISTRY/REPO) and PYPYCTL_SIGNING_KEY (a file
variable) are CI/CD variables of the project unless --store writes the
store into the file. Registry credentials: PYPYCTL_STORE_USER and
PYPYCTL_STORE_TOKEN, else the job's CI_REGISTRY_USER/CI_REGISTRY_PASSWORD.`,
		Example: `  pypyctl ci gitlab --release pypy3.11-v7.3.20 --out ci/release.gitlab-ci.yml
  pypyctl ci gitlab --store oci://registry.example/me/pypy-store > .gitlab-ci.yml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m, r, err := a.matrixRelease(release)
			if err != nil {
				return err
			}
			data, err := ci.GitLabPipeline(m, r, ci.GitLabOptions{Store: store})
			if err != nil {
				return Usagef("%w", err)
			}
			return a.writeCI(ciGitHubResult{Release: r.Name, Store: store, Jobs: a.ciJobs(m, r), File: out}, data, "pipeline", "release")
		},
	}
	c.Flags().StringVar(&release, "release", "", "release to build (default: the matrix's default_release)")
	c.Flags().StringVar(&store, "store", "", "oci://REGISTRY/REPO to write into the file (default: the PYPYCTL_STORE CI/CD variable)")
	c.Flags().StringVar(&out, "out", "", "write the pipeline to this file instead of stdout")
	return c
}

// writeCI prints a generated CI file (in --json, inside the result), or
// writes it atomically to res.File.
func (a *App) writeCI(res ciGitHubResult, data []byte, what, last string) error {
	if res.File == "" {
		if a.JSON {
			res.Workflow = string(data)
			return a.Render(res, nil)
		}
		_, err := a.Stdout.Write(data)
		return err
	}
	if err := fsutil.WriteFileAtomic(res.File, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	a.Logf("wrote %s: %d build jobs for %s, then %s", res.File, res.Jobs, res.Release, last)
	return a.Render(res, nil)
}

// ciGitHubResult is the --json shape of `ci github` and `ci gitlab`.
type ciGitHubResult struct {
	Release  string `json:"release"`
	Store    string `json:"store"`
	Jobs     int    `json:"jobs"`
	File     string `json:"file,omitempty"`
	Workflow string `json:"workflow,omitempty"` // only without --out
}

func newCIGitHubCmd(a *App) *cobra.Command {
	var release, store, out string
	c := &cobra.Command{
		Use:   "github",
		Short: "Write a GitHub Actions workflow",
		Long: `Write a GitHub Actions workflow for one release: a build job whose
strategy.matrix has one entry per target (runner label from the matrix,
qemu-user set up for emulated targets) running
  pypyctl build --target T --release R --store oci://REGISTRY/REPO
and a merge job that needs every build and runs
  pypyctl release --release R --from-store oci://REGISTRY/REPO --to public/ --sign --key K
with K written from the PYPYCTL_SIGNING_KEY secret. By default the store is
${{ vars.PYPYCTL_STORE }}, a repository variable holding oci://REGISTRY/REPO,
so no registry host is written into the workflow; registry credentials come
from the PYPYCTL_STORE_USER/PYPYCTL_STORE_TOKEN secrets (else the workflow's
own token). The output depends only on the matrix and the flags.`,
		Example: `  pypyctl ci github --release pypy3.11-v7.3.20 > .github/workflows/release.yml
  pypyctl ci github --store oci://registry.example/me/pypy-store --out .github/workflows/pypy.yml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := ci.CheckStore(store); err != nil {
				return Usagef("--store %w", err)
			}
			m, r, err := a.matrixRelease(release)
			if err != nil {
				return err
			}
			data, err := ci.GitHubWorkflow(m, r, ci.GitHubOptions{Store: store})
			if err != nil {
				return err
			}
			return a.writeCI(ciGitHubResult{Release: r.Name, Store: store, Jobs: a.ciJobs(m, r), File: out}, data, "workflow", "merge")
		},
	}
	c.Flags().StringVar(&release, "release", "", "release to build (default: the matrix's default_release)")
	c.Flags().StringVar(&store, "store", ci.DefaultStore, "OCI repository the jobs share artifacts through (oci://REGISTRY/REPO or ${{ vars.NAME }})")
	c.Flags().StringVar(&out, "out", "", "write the workflow to this file instead of stdout")
	return c
}

// ciJobs counts the build jobs a generated file has and tells the user
// which targets got none (the matrix marks them not_buildable).
func (a *App) ciJobs(m *platforms.Matrix, r *platforms.Release) int {
	jm, err := ci.Jobs(m, r)
	if err != nil {
		return 0 // the generator already succeeded, so this cannot fail
	}
	for _, sk := range jm.Skipped {
		a.Logf("no job for %s: not buildable yet (%s)", sk.Target, sk.Reason)
	}
	return len(jm.Include)
}
