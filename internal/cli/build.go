package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/release"
)

type buildFlags struct {
	target, release, out, formats, storeDir string
	vmArchive, vmArchiveSHA256              string
	noSmoke, sign                           bool
	key                                     string
	workers                                 int
	post                                    pipeline.PostVM
	cffiOnly, cffiWithout                   string
}

func newBuildCmd(a *App) *cobra.Command {
	var f buildFlags
	c := &cobra.Command{
		Use:   "build --target T",
		Short: "Build a target: VM → assembled tree → smoke test → archives",
		Long: `Build one target of a release: obtain the translated VM (imported from the
release's pinned Debian packages, or translated), assemble it in upstream's
relocatable layout with pinned ensurepip wheels, run its smoke test (arm64
under qemu-user), and pack byte-reproducible archives, the tree's CycloneDX
SBOM (<base>.cdx.json) and SHA256SUMS into --out. With --sign --key, a signed
SLSA provenance (<base>.intoto.jsonl) names every archive and the SBOM, and
every file plus SHA256SUMS gets a .sig and a .sigstore.json. Every stage is cached by the digest of its inputs: building again
with nothing changed is a store hit.

Post-translation stages (also per target in the matrix's post:) run between
the VM and assemble: --rebuild-cffi recompiles the cffi stdlib modules here
with the VM's own build_cffi_imports.py, --portable bundles the non-glibc
shared libraries into lib/ (RUNPATH $ORIGIN), --strip keeps debug info aside
in .debug files with gnu-debuglinks.`,
		Example: `  pypyctl build --target linux-amd64
  pypyctl build --target linux-arm64 --formats tar.bz2,tar.zst --out dist/
  pypyctl build --target linux-amd64 --json | jq '.artifacts[].sha256'
  pypyctl build --target linux-amd64 --rebuild-cffi --portable --strip`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			formats, err := checkBuildFlags(f.sign, f.key, f.formats)
			if err != nil {
				return err
			}
			start := time.Now()
			if f.target == "" {
				return Usagef("--target is required (e.g. --target linux-amd64; see `pypyctl matrix list`)")
			}
			m, r, t, err := a.releaseTarget(f.release, f.target)
			if err != nil {
				return err
			}
			st, d, out, err := a.openStoreOut(f.storeDir, f.out)
			if err != nil {
				return err
			}
			signer, err := a.loadSigner(f.sign, f.key)
			if err != nil {
				return err
			}
			p := a.progress()
			rep, err := release.BuildTarget(cmd.Context(), release.TargetOptions{
				Matrix: m, Release: r, Target: t, Store: st, Dirs: d, Out: out,
				Formats: formats, NoSmoke: f.noSmoke, Workers: f.workers, PostVM: f.postVM(),
				VMArchive: f.vmArchive, VMArchiveSHA256: f.vmArchiveSHA256,
				Signer: signer, MatrixSHA256: matrixSHA256(m), Builder: builderID(),
				Logger: a.Logger, Progress: p.update,
			})
			p.clear()
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) {
				fmt.Fprintf(w, "built %s for %s in %s (%d of %d stages from the store)\n", rep.Release, rep.Target, elapsed(start), rep.Hits(), len(rep.Stages))
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
				for _, art := range rep.Artifacts {
					// Right-aligned sizes; paths of any length stay in one column.
					fmt.Fprintf(tw, "  %s\t%s\t  sha256:%s\t\n", art.Path, fsutil.HumanSize(art.Size), art.SHA256)
				}
				tw.Flush()
				for _, art := range rep.Artifacts.OfKind(artifact.KindArchive) {
					if strings.HasPrefix(art.Format, "tar") {
						base := strings.TrimSuffix(art.Name, "."+art.Format)
						// A 2.7 tree's interpreter is bin/pypy (package.py's name).
						exe := "pypy3"
						if r.Major() == "2" {
							exe = "pypy"
						}
						fmt.Fprintf(w, "run it:\n  tar xf %s && ./%s/bin/%s -c 'import sys; print(sys.version)'\n", art.Path, base, exe)
						break
					}
				}
			})
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.target, "target", "", "target to build (linux-amd64, linux-arm64, …)")
	fl.StringVar(&f.release, "release", "", "release to build (default: the matrix's default_release)")
	fl.StringVar(&f.out, "out", "dist", "directory for archives and SHA256SUMS")
	fl.StringVar(&f.formats, "formats", "", "comma-separated archive formats: tar.bz2,tar.gz,tar.xz,tar.zst,zip (default: the matrix's)")
	fl.StringVar(&f.storeDir, "store", "", "content-addressed store: a directory, or oci://HOST[:PORT]/REPO to share stages through a registry (default: the cache dir's store/)")
	fl.BoolVar(&f.noSmoke, "no-smoke", false, "skip running the built interpreter")
	fl.StringVar(&f.vmArchive, "vm-archive", "", "import this upstream-layout archive as the VM (pypy.org's or one pypyctl built)")
	fl.StringVar(&f.vmArchiveSHA256, "vm-archive-sha256", "", "pin for --vm-archive (default: the matrix's pin for the target)")
	fl.BoolVar(&f.sign, "sign", false, "sign archives, SBOM and SHA256SUMS (.sig and .sigstore.json beside each) and write signed provenance (.intoto.jsonl)")
	fl.StringVar(&f.key, "key", "", "private key for --sign (PEM; encrypted keys read PYPYCTL_KEY_PASSWORD)")
	fl.IntVar(&f.workers, "workers", 0, "compression workers (0: all cores; output is identical for any value)")
	fl.BoolVar(&f.post.RebuildCFFI, "rebuild-cffi", false, "rebuild the cffi stdlib modules (_ssl, sqlite3, lzma, curses, …) here against the system's -dev libraries")
	fl.StringVar(&f.cffiOnly, "cffi-only", "", "with --rebuild-cffi: comma-separated modules to rebuild (build_cffi_imports.py keys)")
	fl.StringVar(&f.cffiWithout, "cffi-without", "", "with --rebuild-cffi: comma-separated modules to leave as they are")
	fl.BoolVar(&f.post.Portable, "portable", false, "bundle the non-glibc shared libraries into lib/ with $ORIGIN RUNPATHs (lib/PYPY_PORTABLE_DEPS.txt lists them)")
	fl.BoolVar(&f.post.Strip, "strip", false, "strip debug info into .debug files kept in the store, with gnu-debuglinks")
	return c
}

func (f *buildFlags) postVM() pipeline.PostVM {
	p := f.post
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	p.CFFIOnly, p.CFFIWithout = split(f.cffiOnly), split(f.cffiWithout)
	return p
}
