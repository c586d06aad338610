package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/packaging/apt"
	"github.com/pypyctl/pypyctl/packaging/brew"
	"github.com/pypyctl/pypyctl/packaging/deb"
	"github.com/pypyctl/pypyctl/release"
	"github.com/pypyctl/pypyctl/trust/keys"
)

type debFlags struct {
	target, release, out, version, compression, storeDir string
	revision                                             int
	noSmoke                                              bool
}

func newPackageDebCmd(a *App) *cobra.Command {
	var f debFlags
	c := &cobra.Command{
		Use:   "deb --target T",
		Short: "Build a .deb of a target",
		Long: `Build a Debian package of one (release, target) from its assembled tree
(built or taken from the store, as ` + "`pypyctl build`" + ` does). The tree is installed
unchanged under /opt/pypy/<release>; postinst registers /usr/bin/pypyX.Y and
/usr/bin/pypyX with update-alternatives, so releases coexist with each other
and with Debian's own pypy3. Depends is computed from the tree's ELF NEEDED
entries. The package is byte-reproducible: the same tree gives the same .deb.`,
		Example: `  pypyctl package deb --target linux-amd64
  pypyctl package deb --target linux-arm64 --out debs/ --revision 2
  dpkg-deb -I dist/pypy3.9-v7.3.11_7.3.11-1_amd64.deb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.target == "" {
				return Usagef("--target is required (e.g. --target linux-amd64)")
			}
			if f.revision < 1 {
				return Usagef("--revision %d: must be 1 or more", f.revision)
			}
			comp, err := deb.ParseCompression(f.compression)
			if err != nil {
				return Usagef("--compression: %v", err)
			}
			m, r, t, err := a.releaseTarget(f.release, f.target)
			if err != nil {
				return err
			}
			if t.OS != "linux" || t.DebianArch == "" {
				return Usagef("target %s: .debs are made for Linux targets with a Debian architecture", t.Name)
			}
			st, d, out, err := a.openStoreOut(f.storeDir, f.out)
			if err != nil {
				return err
			}
			p := a.progress()
			rep, err := release.Deb(cmd.Context(), release.DebOptions{
				Trees: release.Trees{Matrix: m, Store: st, Dirs: d, NoSmoke: f.noSmoke,
					Logger: a.Logger, Progress: p.update},
				Release: r, Target: t,
				Deb: deb.Options{Revision: f.revision, Version: f.version, Compression: comp, OutDir: out},
			})
			p.clear()
			if err != nil {
				return err
			}
			res := rep.Result
			return a.Render(rep, func(w io.Writer) {
				fmt.Fprintf(w, "built %s %s (%s) for %s\n", res.Package, res.Version, res.Architecture, t.Name)
				fmt.Fprintf(w, "  %s  %s  sha256:%s\n", res.Path, fsutil.HumanSize(res.Size), res.SHA256)
				fmt.Fprintf(w, "  installs %s (%s), Depends: %s\n", res.Prefix, fsutil.HumanSize(res.InstalledSize*1024), strings.Join(res.Depends, ", "))
				fmt.Fprintf(w, "install it:\n  sudo apt-get install %s\n", res.Path)
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.target, "target", "", "Linux target to package (linux-amd64, linux-arm64, …)")
	fl.StringVar(&f.release, "release", "", "release to package (default: the matrix's default_release)")
	fl.StringVar(&f.out, "out", "dist", "directory for the .deb")
	fl.IntVar(&f.revision, "revision", 1, "Debian revision of the package (the 1 of 7.3.11-1)")
	fl.StringVar(&f.version, "version", "", "full Debian version instead of PYPY-REVISION (nightlies: e.g. 7.3.21~dev4711-1)")
	fl.StringVar(&f.compression, "compression", "xz", "member compression: xz or gz")
	fl.StringVar(&f.storeDir, "store", "", "content-addressed store (default: the cache dir's store/)")
	fl.BoolVar(&f.noSmoke, "no-smoke", false, "skip running the tree's interpreter before packaging")
	return c
}

type aptFlags struct {
	from, to, suite, codename, component, key string
	origin, label, description                string
}

func newPackageAptCmd(a *App) *cobra.Command {
	var f aptFlags
	c := &cobra.Command{
		Use:   "apt --from DIST --to REPO --suite S --key KEY",
		Short: "Build or extend a signed apt repository",
		Long: `Add every .deb in --from to the apt repository --to (created if needed):
pool/<component>/…, dists/<suite>/<component>/binary-<arch>/Packages{,.gz,.xz},
and a Release signed with the OpenPGP key --key as InRelease (clearsigned)
and Release.gpg (detached). Adding is incremental and atomic: pool files
first, indices (also under by-hash/), then Release, Release.gpg and InRelease.
Release's Date is $SOURCE_DATE_EPOCH, else the newest package's, so the same
packages give the same repository. The public key is written into the
repository as <origin>-archive-keyring.gpg (for signed-by=) and .asc.

An encrypted key reads its passphrase from $PYPYCTL_KEY_PASSWORD. Make a key
with ` + "`pypyctl package apt key --out DIR`" + `.`,
		Example: `  pypyctl package apt key --out keys/
  pypyctl package apt --from dist --to repo --suite stable --key keys/apt.key
  echo "deb [signed-by=/etc/apt/keyrings/pypyctl.gpg] https://example.org/repo stable main"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, req := range []struct{ name, v string }{{"--from", f.from}, {"--to", f.to}, {"--suite", f.suite}, {"--key", f.key}} {
				if req.v == "" {
					return Usagef("%s is required", req.name)
				}
			}
			key, err := apt.LoadKey(f.key, []byte(a.Getenv("PYPYCTL_KEY_PASSWORD")))
			if err != nil {
				if strings.Contains(err.Error(), "no passphrase") {
					return fmt.Errorf("%w: set PYPYCTL_KEY_PASSWORD", err)
				}
				return err
			}
			debs, err := filepath.Glob(filepath.Join(f.from, "*.deb"))
			if err != nil {
				return err
			}
			if len(debs) == 0 {
				return fmt.Errorf("no .deb files in %s (build some with `pypyctl package deb`)", f.from)
			}
			sort.Strings(debs)
			var date time.Time
			if s := a.Getenv("SOURCE_DATE_EPOCH"); s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil || n < 0 {
					return Usagef("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
				}
				date = time.Unix(n, 0)
			}
			repo, err := filepath.Abs(f.to)
			if err != nil {
				return err
			}
			rep, err := apt.Publish(cmd.Context(), apt.Options{
				Repo: repo, Suite: f.suite, Codename: f.codename, Component: f.component,
				Origin: f.origin, Label: f.label, Description: f.description,
				Debs: debs, Key: key, Date: date, Logger: a.Logger,
			})
			if err != nil {
				return err
			}
			res := rep.Result
			return a.Render(rep, func(w io.Writer) {
				added := 0
				for _, p := range res.Packages {
					if p.Added {
						added++
					}
				}
				fmt.Fprintf(w, "%s: suite %s now has %d packages (%d added), signed by %s\n", repo, f.suite, res.Indexed, added, res.Fingerprint)
				fmt.Fprintf(w, "use it:\n  cp %s /etc/apt/keyrings/\n  echo '%s' > /etc/apt/sources.list.d/pypy.list\n", rep.Keyring, rep.SourceLine)
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.from, "from", "", "directory with the .deb files to add")
	fl.StringVar(&f.to, "to", "", "repository root (created if missing)")
	fl.StringVar(&f.suite, "suite", "", "suite (dists/<suite>), e.g. stable or bookworm")
	fl.StringVar(&f.codename, "codename", "", "Codename in Release (default: the suite)")
	fl.StringVar(&f.component, "component", "main", "component")
	fl.StringVar(&f.key, "key", "", "OpenPGP private key (armored or binary) that signs Release")
	fl.StringVar(&f.origin, "origin", "pypyctl", "Origin in Release")
	fl.StringVar(&f.label, "label", "", "Label in Release (default: the origin)")
	fl.StringVar(&f.description, "description", "", "Description in Release")
	c.AddCommand(newPackageAptKeyCmd(a))
	return c
}

type aptKeyFlags struct {
	out, name, email, algorithm, base string
}

// newPackageAptKeyCmd generates the OpenPGP key that signs repositories
// (`keys generate --openpgp` does the same).
func newPackageAptKeyCmd(a *App) *cobra.Command {
	var f aptKeyFlags
	c := &cobra.Command{
		Use:   "key --out DIR",
		Short: "Generate the OpenPGP key that signs apt repositories",
		Long: `Generate an OpenPGP signing key (Ed25519 by default, RSA 4096 on request)
and write DIR/<base>.key (private, mode 0600; encrypted with
$PYPYCTL_KEY_PASSWORD when it is set), DIR/<base>.asc (public, armored) and
DIR/<base>.gpg (public, binary: what apt's signed-by= reads).`,
		Example: `  pypyctl package apt key --out keys/
  PYPYCTL_KEY_PASSWORD=… pypyctl package apt key --out keys/ --algorithm rsa4096`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return writeOpenPGPKey(a, &f) },
	}
	c.Flags().StringVar(&f.out, "out", "", "directory for the key files")
	f.register(c)
	return c
}

// register adds the OpenPGP key flags (all but --out, which `keys
// generate` shares with its ECDSA keys).
func (f *aptKeyFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.base, "base", "apt", "file name stem of the OpenPGP key files")
	fl.StringVar(&f.name, "name", "pypyctl apt repository", "name in the OpenPGP key's user ID")
	fl.StringVar(&f.email, "email", "", "email in the OpenPGP key's user ID")
	fl.StringVar(&f.algorithm, "algorithm", "ed25519", "OpenPGP key algorithm: ed25519 or rsa4096")
}

// writeOpenPGPKey generates the key that signs apt repositories and
// writes its private, armored and binary public files.
func writeOpenPGPKey(a *App, f *aptKeyFlags) error {
	if f.out == "" {
		return Usagef("--out is required")
	}
	if f.base == "" || strings.ContainsAny(f.base, "/\\") {
		return Usagef("--base %q must be a plain file name stem", f.base)
	}
	k, err := apt.GenerateKey(f.name, f.email, apt.Algorithm(f.algorithm), time.Now())
	if err != nil {
		return err
	}
	kf, err := apt.WriteKeyFiles(f.out, f.base, k, []byte(a.Getenv(keys.PasswordEnv)))
	if err != nil {
		return err
	}
	return a.Render(kf, func(w io.Writer) {
		fmt.Fprintf(w, "OpenPGP key %s (%s)\n  private: %s\n  public:  %s\n           %s\n", kf.Fingerprint, k.UserID(), kf.Private, kf.Public, kf.PublicGPG)
	})
}

type brewFlags struct {
	release, to, from, baseURL, index string
	allowMissing                      bool
}

func newPackageBrewCmd(a *App) *cobra.Command {
	var f brewFlags
	c := &cobra.Command{
		Use:   "brew --release R --to TAP (--from DIST --base-url URL | --index versions.json)",
		Short: "Write a Homebrew tap with a formula for a release",
		Long: `Write TAP/Formula/pypy@X.Y.rb, a formula that installs the release's
upstream-layout archives for every macOS and Linux arm64/x86_64 target the
release ships (on_macos/on_linux, on_arm/on_intel). Each sha256 comes from
a dist directory's SHA256SUMS (--from, with --base-url where the archives
are published) or from a published versions.json that carries sha256
entries (--index, a file or an http(s) URL).`,
		Example: `  pypyctl package brew --release pypy3.11-v7.3.20 --to tap/ --from dist --base-url https://downloads.example.org/pypy/
  pypyctl package brew --release pypy3.9-v7.3.11 --to tap/ --index site/versions.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.to == "" {
				return Usagef("--to TAP is required")
			}
			if (f.index == "") == (f.from == "") {
				return Usagef("give either --from DIST (with --base-url) or --index versions.json")
			}
			if f.from != "" && f.baseURL == "" {
				return Usagef("--from needs --base-url: where the archives are downloaded from")
			}
			m, r, err := a.matrixRelease(f.release)
			if err != nil {
				return err
			}
			var archives []brew.Archive
			if f.index != "" {
				archives, err = brew.FromIndex(cmd.Context(), m, r, f.index, f.allowMissing)
			} else {
				archives, err = brew.FromSums(m, r, f.from, f.baseURL, f.allowMissing)
			}
			if err != nil {
				return err
			}
			res, err := brew.Write(m, r, archives, f.to)
			if err != nil {
				return err
			}
			return a.Render(res, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %s (%s %s, %d archives)\n", res.Formula, res.Name, res.Version, len(res.Archives))
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				for _, ar := range res.Archives {
					fmt.Fprintf(tw, "  %s\t%s\n", ar.Target, ar.URL)
				}
				tw.Flush()
				fmt.Fprintf(w, "install it from the tap:\n  brew install <user>/<tap>/%s\n", res.Name)
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.release, "release", "", "release (default: the matrix's default_release)")
	fl.StringVar(&f.to, "to", "", "tap directory (Formula/ is written inside)")
	fl.StringVar(&f.from, "from", "", "dist directory with SHA256SUMS (and the archives, checked when present)")
	fl.StringVar(&f.baseURL, "base-url", "", "URL the archives in --from are published under")
	fl.StringVar(&f.index, "index", "", "published versions.json (file or URL) with sha256 per file")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "leave out targets with no archive instead of failing")
	return c
}
