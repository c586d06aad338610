package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/translator/srcarchive"
)

type sourceFlags struct {
	release, out, formats, gitMirror string
	workers                          int
}

func newSourceCmd(a *App) *cobra.Command {
	var f sourceFlags
	c := &cobra.Command{
		Use:   "source [--release R] [--out DIR]",
		Short: "Write a release's source archives, byte-identical to pypy.org's",
		Long: `Write the release's source archives (pypyX.Y-vV-src.tar.gz or .tar.bz2) from
its pinned git commit, byte for byte as pypy.org publishes them: git archive
of the tag with upstream's .hg_archival.txt under <release>-src/, then
gzip -9 -n (the gzip on PATH) or bzip2 -9 (pypyctl's libbz2 writer).

The clone's commit and tree are checked against the matrix's pins before
anything is written, and each archive's sha256 against the matrix's pin of
upstream's archive before it is renamed into --out: a mismatch exits 1 and
names both values. --formats defaults to the release's source format
(7.3.20: tar.bz2, 7.3.23: tar.gz); a format the matrix does not pin is
written unverified. git 2.35 or later is required.`,
		Example: `  pypyctl source --release pypy3.11-v7.3.23 --out dist/
  PYPYCTL_GIT_MIRROR=file://$PWD/../shared/pypy/pypy.git pypyctl source --release pypy2.7-v7.3.20
  pypyctl source --release pypy3.11-v7.3.23 --formats tar.gz,tar.bz2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			formats, err := parseSourceFormats(f.formats)
			if err != nil {
				return err
			}
			if f.workers < 0 {
				return Usagef("--workers must be 0 (one per core) or more")
			}
			m, err := a.LoadMatrix()
			if err != nil {
				return err
			}
			r, err := m.Release(f.release)
			if err != nil {
				return Usagef("--release: %w", err)
			}
			rep, err := srcarchive.Write(cmd.Context(), r, srcarchive.Options{
				OutDir: f.out, Formats: formats, GitMirror: a.gitMirror(f.gitMirror), Workers: f.workers,
				Logger: a.Logger,
			})
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) { printSourceReport(w, rep) })
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.release, "release", "", "release whose source to archive (default: the matrix's default_release)")
	fl.StringVar(&f.out, "out", "dist", "directory for the archives")
	fl.StringVar(&f.formats, "formats", "", "comma-separated: tar.gz,tar.bz2 (default: the release's source format)")
	fl.StringVar(&f.gitMirror, "git-mirror", "", "clone from this URL instead of the release's git source (default $"+translator.GitMirrorEnv+"); the pinned commit and tree are checked")
	fl.IntVar(&f.workers, "workers", 0, "bzip2 workers (0: one per core); the bytes do not depend on it")
	return c
}

func parseSourceFormats(s string) ([]archive.Format, error) {
	if s == "" {
		return nil, nil
	}
	var out []archive.Format
	for _, part := range strings.Split(s, ",") {
		f, err := archive.ParseFormat(part)
		if err != nil {
			return nil, Usagef("--formats: %w", err)
		}
		if f != archive.TarGz && f != archive.TarBz2 {
			return nil, Usagef("--formats: source archives come in tar.gz and tar.bz2 (upstream's zip does not reproduce), not %s", f)
		}
		out = append(out, f)
	}
	return out, nil
}

func printSourceReport(w io.Writer, rep *srcarchive.Report) {
	fmt.Fprintf(w, "%s: %s commit %s tree %s\n", rep.Release, rep.Tag, rep.Commit, rep.Tree)
	for _, a := range rep.Archives {
		check := "not pinned in the matrix"
		if a.Verified {
			check = "matches the matrix pin"
		}
		fmt.Fprintf(w, "%s  %s  (%s, %s)\n", a.SHA256, a.Path, fsutil.HumanSize(a.Size), check)
	}
}
