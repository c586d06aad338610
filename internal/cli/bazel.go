package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/packaging/bazel"
	"github.com/pypyctl/pypyctl/publish/index"
)

func newBazelCmd(a *App) *cobra.Command {
	var indexLoc, release, out, prefix string
	var targets []string
	c := &cobra.Command{
		Use:   "bazel --index URL|PATH --release R",
		Short: "Generate Bazel repository rules for a published release",
		Long: `Read a published versions.json (a path, file:// or http(s) URL) and write,
into --out, pypy_repositories.bzl and a BUILD.bazel that makes the directory
a package. The .bzl declares one http_archive per target of the release,
pinned by the sha256 the index carries, with strip_prefix the archive's top
directory; each archive's BUILD exposes the interpreter, a py_runtime, a
py_runtime_pair and a toolchain for @bazel_tools//tools/python:toolchain_type
constrained to its @platforms os and cpu. pypy_repositories() declares the
archives, register_pypy_toolchains() registers the toolchains: call both in
WORKSPACE (see the WORKSPACE at the top of pypyctl's repository).

Only formats Bazel's http_archive extracts are used (tar.gz, tar.xz, zip,
tar.bz2, preferred in that order). The output depends only on the index
entry, so regenerating after a publish changes nothing unless the release
did. Works with Bazel 4.2 and later; there is no MODULE.bazel (bzlmod)
variant.`,
		Example: `  pypyctl bazel --index public/ --release pypy3.9-v7.3.11 --out third_party/pypy
  pypyctl bazel --index https://downloads.example.org/pypy/versions.json --release 7.3.11 \
      --target linux-amd64 --target linux-arm64 --out third_party/pypy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if indexLoc == "" {
				return Usagef("--index URL|PATH is required")
			}
			if release == "" {
				return Usagef("--release R is required (e.g. pypy3.9-v7.3.11)")
			}
			src, err := index.Load(cmd.Context(), nil, indexLoc)
			if err != nil {
				return err
			}
			res, err := bazel.Generate(src, bazel.Options{Release: release, Targets: targets, Prefix: prefix})
			if err != nil {
				return err
			}
			if err := res.Write(out); err != nil {
				return err
			}
			report := struct {
				*bazel.Result
				Out   string   `json:"out"`
				Files []string `json:"files"`
			}{Result: res, Out: out}
			for _, f := range res.Files {
				report.Files = append(report.Files, filepath.Join(out, f.Name))
			}
			return a.Render(report, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s for %s (PyPy %s, Python %s):\n", filepath.Join(out, bazel.RepositoriesFile), res.Release, res.PyPy, res.Python)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				for _, r := range res.Repos {
					fmt.Fprintf(tw, "  @%s\t%s\tsha256:%s\n", r.Name, r.Filename, r.SHA256)
				}
				tw.Flush()
				fmt.Fprintf(w, "in WORKSPACE:\n  load(\"//%s:%s\", \"pypy_repositories\", \"register_pypy_toolchains\")\n  pypy_repositories()\n  register_pypy_toolchains()\n",
					packageOf(out), bazel.RepositoriesFile)
			})
		},
	}
	c.Flags().StringVar(&indexLoc, "index", "", "published versions.json: a path, a directory holding it, or a file:// or http(s) URL")
	c.Flags().StringVar(&release, "release", "", "release to pin: pypyX.Y-vV, or a PyPy version if only one Python version ships with it")
	c.Flags().StringVar(&out, "out", ".", "directory to write pypy_repositories.bzl and BUILD.bazel into (a package of your workspace)")
	c.Flags().StringSliceVar(&targets, "target", nil, "only these targets (linux-amd64, linux-arm64, …); default: all the release has")
	c.Flags().StringVar(&prefix, "prefix", "pypy", "repository name prefix: <prefix>_linux_amd64")
	return c
}

// packageOf guesses the Bazel package of the output directory for the
// usage hint, assuming the command runs at the workspace root.
func packageOf(out string) string {
	p := filepath.ToSlash(filepath.Clean(out))
	switch {
	case p == ".":
		return ""
	case filepath.IsAbs(out) || p == ".." || strings.HasPrefix(p, "../"):
		return "<package of " + out + ">"
	}
	return p
}
