package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish"
)

func newPublishCmd(a *App) *cobra.Command {
	var to, baseURL, release string
	var nightly bool
	c := &cobra.Command{
		Use:   "publish DIST --to DEST",
		Short: "Publish built artifacts and update versions.json",
		Long: `Copy the releases built into DIST (archives listed in DIST/<release>.release.json,
their signatures, SBOMs and provenance) into DEST/<release>/, and merge them
into DEST/versions.json (pypy.org's schema plus a sha256 per file),
DEST/download-metadata.json (uv's format, for UV_PYTHON_DOWNLOADS_JSON_URL)
and the SHA256SUMS files. A file already published with other bytes is
never overwritten; publishing the same bytes again changes nothing.

download_url is <release>/<file>, relative to versions.json, so the tree
works wherever it is served (` + "`pypyctl serve`" + `, any web server, a copy on
disk) and never names the build machine's paths; with --base-url it is
--base-url/<release>/<file>, which uv's catalogue needs (it reads only
absolute URLs). With --release R and no metadata in DIST, the release is taken
from the matrix.`,
		Example: `  pypyctl publish dist --to public/ --base-url https://downloads.example.org/pypy
  pypyctl publish dist --to public/ --release pypy3.9-v7.3.11
  pypyctl publish nightly-dist --to public/ --nightly`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return Usagef("--to DEST is required")
			}
			if err := publish.CheckBaseURL(baseURL); err != nil {
				return Usagef("--base-url %q is not an absolute URL (an http(s):// URL such as https://downloads.example.org/pypy, or file:// on this host); leave it out for download_urls relative to versions.json", baseURL)
			}
			var m *platforms.Matrix
			if release != "" {
				var err error
				if m, err = a.LoadMatrix(); err != nil {
					return err
				}
			}
			rep, err := publish.Publish(cmd.Context(), publish.Options{
				Dist: args[0], Dest: to, BaseURL: baseURL, Nightly: nightly, Release: release, Matrix: m,
				Logger: a.Logger,
			})
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) {
				for _, r := range rep.Releases {
					copied := 0
					for _, f := range r.Files {
						if f.Copied {
							copied++
						}
					}
					fmt.Fprintf(w, "published %s (PyPy %s, Python %s): %d files, %d new, in %s\n", r.Name, r.PyPyVersion, r.PythonVersion, len(r.Files), copied, r.Dir)
				}
				fmt.Fprintf(w, "index: %s\nuv catalogue: %s\n", rep.VersionsJSON, rep.DownloadMetadata)
				if rep.BaseURL == "" {
					fmt.Fprintln(w, "download URLs are relative to the index: serve DEST as it is (e.g. `pypyctl serve`); uv's catalogue lists only files published with --base-url")
				}
			})
		},
	}
	c.Flags().StringVar(&to, "to", "", "published directory to create or update")
	c.Flags().StringVar(&baseURL, "base-url", "", "absolute URL DEST will be served at (default: download_urls relative to versions.json)")
	c.Flags().BoolVar(&nightly, "nightly", false, "publish as a nightly (pypy_version \"nightly\", not stable)")
	c.Flags().StringVar(&release, "release", "", "publish only this release; read it from the matrix if DIST has no metadata for it")
	return c
}

func newServeCmd(a *App) *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "serve DIR",
		Short: "Serve a published directory over HTTP",
		Long: `Serve DIR read-only over HTTP with Range requests and ETags (so installs
resume), until interrupted. Meant for local use and tests; hidden files are
not served and nothing outside DIR is reachable.`,
		Example: "  pypyctl serve public/ --addr 127.0.0.1:8080\n  pypyctl install 3.9 --index http://127.0.0.1:8080/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return publish.Serve(cmd.Context(), args[0], addr, func(u string) {
				if a.JSON {
					a.Render(map[string]string{"url": u, "dir": args[0]}, nil)
					return
				}
				fmt.Fprintf(a.Stdout, "serving %s at %s (Ctrl-C stops)\n", args[0], u)
			})
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	return c
}
