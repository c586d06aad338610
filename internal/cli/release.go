package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/packaging/apt"
	"github.com/pypyctl/pypyctl/publish"
	"github.com/pypyctl/pypyctl/release"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/trust/keys"
)

type releaseFlags struct {
	version, release, targets, formats  string
	storeDir, fromStore, to, dist, base string
	jobs, workers, keep                 int
	noSmoke, sign, nightly              bool
	key, source, rev                    string
	brewTap, aptRepo, aptSuite, aptKey  string
	gitMirror                           string
}

func newReleaseCmd(a *App) *cobra.Command {
	var f releaseFlags
	c := &cobra.Command{
		Use:   "release (--version V | --release R | --nightly) [--targets …] [--to DEST]",
		Short: "Build, sign and publish a whole release or a nightly",
		Long: `Release every target of a release: for each target build (import or
translate, assemble, smoke, archives and SBOM), then gather the outputs with
release metadata and SHA256SUMS, sign them with --sign --key, and publish
them to --to (release directory, versions.json, download-metadata.json).

--version V takes every release of PyPy V in the matrix (one per Python
version); --release R one release; --targets limits the targets. --jobs
builds that many targets at once.

Each target's finished outputs are kept in the store as one record keyed by
(release, target, matrix, formats), beside the build's own stages. A rerun
after a failure or a kill redoes only what is missing, and the summary
counts the store hits.

Split over machines: each builder runs this command with --targets T
--store S and no --to (it only builds and records); one merge job runs it
with --from-store S --to DEST, which gathers the records without building
and fails naming every target whose record is missing. The published bytes
are the same as a single-process release of the same matrix.

--nightly names the outputs after a git revision of --source as PyPy's
buildbots do (pypy-c-jit-<N>-<hash12>-<platform>, N = 1 + commit count),
publishes them as the "nightly" entry of versions.json, points
pypy-c-jit-latest-<platform>.<format> at them, and with --keep N prunes all
but the newest N nightlies.

Distro outputs, written after publishing (stable releases only):
--brew-tap DIR writes DIR/Formula/pypy@X.Y.rb from the published
versions.json; --apt-repo DIR packages every Linux target's tree as a .deb
(from the store: a merge job pulls the trees the builders made) and adds
them to the signed apt repository DIR (--apt-suite, --apt-key: an OpenPGP
key from ` + "`pypyctl keys generate --openpgp`" + `). OCI images come from
` + "`pypyctl package oci`" + ` over the same store.`,
		Example: `  pypyctl release --release pypy3.9-v7.3.11 --to public/
  pypyctl release --version 7.3.11 --targets linux-amd64,linux-arm64 --jobs 2 --to public/ --sign --key release.key
  # split: builders, then one merge job
  pypyctl release --release pypy3.9-v7.3.11 --targets linux-amd64 --store /shared/store
  pypyctl release --release pypy3.9-v7.3.11 --targets linux-arm64 --store /shared/store
  pypyctl release --release pypy3.9-v7.3.11 --from-store /shared/store --to public/
  pypyctl release --nightly --source ~/src/pypy --to nightly/ --keep 7 --json
  pypyctl release --to public/ --brew-tap tap/ --apt-repo apt/ --apt-key keys/apt.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			formats, err := checkBuildFlags(f.sign, f.key, f.formats)
			if err != nil {
				return err
			}
			if f.storeDir != "" && f.fromStore != "" {
				return Usagef("--store and --from-store name the same store; pass one")
			}
			if f.version != "" && f.release != "" {
				return Usagef("choose --version or --release, not both")
			}
			if f.nightly && f.source == "" {
				return Usagef("--nightly needs --source GIT_DIR: the checkout the nightly is named after")
			}
			if !f.nightly && (f.keep != 0 || f.source != "") {
				return Usagef("--keep and --source are for --nightly")
			}
			if f.keep < 0 {
				return Usagef("--keep must be at least 1")
			}
			// Checked before any build, not by publish at the end.
			if err := publish.CheckBaseURL(f.base); err != nil {
				return Usagef("--base-url %q is not an absolute URL (an http(s):// URL, or file:// on this host); leave it out for download_urls relative to versions.json", f.base)
			}
			if f.fromStore != "" && f.to == "" && f.dist == "" {
				return Usagef("--from-store gathers outputs: give --to DEST (or --dist DIR)")
			}
			m, err := a.LoadMatrix()
			if err != nil {
				return err
			}
			st, d, err := a.OpenStore(f.storeDir + f.fromStore)
			if err != nil {
				return err
			}
			signer, err := a.loadSigner(f.sign, f.key)
			if err != nil {
				return err
			}
			o := release.Options{
				Matrix:    m,
				Selection: release.Selection{Version: f.version, Release: f.release, Targets: splitList(f.targets)},
				Store:     st, Dirs: d, Jobs: f.jobs, FromStore: f.fromStore != "",
				BaseURL: f.base, Formats: formats, NoSmoke: f.noSmoke, Workers: f.workers,
				Signer: signer, Keep: f.keep, MatrixSHA256: matrixSHA256(m),
				GitMirror: a.gitMirror(f.gitMirror),
				Logger:    a.Logger,
			}
			o.Builder = builderID()
			o.Outputs = release.Outputs{AptSuite: f.aptSuite}
			for _, p := range []struct {
				in  string
				out *string
			}{{f.brewTap, &o.Outputs.BrewTap}, {f.aptRepo, &o.Outputs.AptRepo}, {f.to, &o.Dest}, {f.dist, &o.Dist}} {
				if p.in != "" {
					if *p.out, err = filepath.Abs(p.in); err != nil {
						return err
					}
				}
			}
			if f.aptRepo != "" {
				if f.aptKey == "" {
					return Usagef("--apt-repo needs --apt-key (make one with `pypyctl keys generate --openpgp`)")
				}
				if o.Outputs.AptKey, err = apt.LoadKey(f.aptKey, []byte(a.Getenv(keys.PasswordEnv))); err != nil {
					return fmt.Errorf("--apt-key: %w", err)
				}
			}
			if f.nightly {
				n, err := release.NightlyFromGit(cmd.Context(), f.source, f.rev)
				if err != nil {
					return err
				}
				o.Nightly = &n
				// The nightly is translated from the checkout it is named
				// after, not from the release's pinned tag.
				if o.SourceDir, err = filepath.Abs(f.source); err != nil {
					return err
				}
			}
			rep, err := release.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) { release.WriteSummary(w, rep) })
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.version, "version", "", "PyPy version: every release of it in the matrix (7.3.11)")
	fl.StringVar(&f.release, "release", "", "one release (default: the matrix's default_release)")
	fl.StringVar(&f.targets, "targets", "", "comma-separated targets to build (default: all of the release's)")
	fl.StringVar(&f.formats, "formats", "", "comma-separated archive formats (default: the matrix's per target)")
	fl.StringVar(&f.storeDir, "store", "", "content-addressed store shared by builders (default: the cache dir's store/)")
	fl.StringVar(&f.fromStore, "from-store", "", "gather what builders recorded in this store; build nothing")
	fl.StringVar(&f.to, "to", "", "publish into this directory (none: build and record only)")
	fl.StringVar(&f.dist, "dist", "", "also keep the gathered outputs (archives, SHA256SUMS, *.release.json) here")
	fl.StringVar(&f.base, "base-url", "", "absolute URL where --to is served, for versions.json (default: download_urls relative to versions.json)")
	fl.IntVar(&f.jobs, "jobs", 1, "targets built at once")
	fl.StringVar(&f.gitMirror, "git-mirror", "", "clone release sources (for the -src archives) from this URL (default $"+translator.GitMirrorEnv+"); pins are checked")
	fl.IntVar(&f.workers, "workers", 0, "compression workers per build (0: all cores; output is identical for any value)")
	fl.BoolVar(&f.noSmoke, "no-smoke", false, "skip running the built interpreters")
	fl.BoolVar(&f.sign, "sign", false, "sign every output and SHA256SUMS (.sig and .sigstore.json beside each)")
	fl.StringVar(&f.key, "key", "", "private key for --sign (PEM; encrypted keys read PYPYCTL_KEY_PASSWORD)")
	fl.BoolVar(&f.nightly, "nightly", false, "publish as the nightly of --source's revision")
	fl.StringVar(&f.source, "source", "", "with --nightly: the git checkout of PyPy the nightly is named after")
	fl.StringVar(&f.rev, "rev", "", "with --nightly: the revision (default HEAD)")
	fl.IntVar(&f.keep, "keep", 0, "with --nightly: keep the newest N nightlies in --to, prune the rest")
	fl.StringVar(&f.brewTap, "brew-tap", "", "also write a Homebrew formula per release into this tap")
	fl.StringVar(&f.aptRepo, "apt-repo", "", "also add a .deb of every Linux target to this signed apt repository")
	fl.StringVar(&f.aptSuite, "apt-suite", "stable", "suite of --apt-repo")
	fl.StringVar(&f.aptKey, "apt-key", "", "OpenPGP private key signing --apt-repo (encrypted keys read PYPYCTL_KEY_PASSWORD)")
	return c
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
