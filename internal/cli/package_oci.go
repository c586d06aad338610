package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/packaging/oci"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/release"
	"github.com/pypyctl/pypyctl/trust/keys"
)

type ociFlags struct {
	release, targets, layout, push, tag string
	lock, user, key, identity, storeDir string
	packages                            []string
	insecure, sign, updateLock, noSmoke bool
}

func newPackageOCICmd(a *App) *cobra.Command {
	var f ociFlags
	c := &cobra.Command{
		Use:   "oci (--layout DIR | --push REGISTRY/REPO:TAG)",
		Short: "Build a multi-arch OCI image without a Docker daemon",
		Long: `Build one OCI image per Linux target of a release and an image index over
them, without a Docker daemon: a base layer unpacked from Debian packages
(the libraries the tree links against and their Depends, CA certificates,
time zones; pinned by sha256 in an OCI lock) and the release tree at
/opt/pypy. The same trees and lock give the same index digest on any host.

The index goes into an OCI layout (--layout) or to a registry (--push),
with a CycloneDX SBOM per image and SLSA provenance of the index attached
as OCI referrers. --sign adds cosign signatures of the index and images
and signed attestations, so 'cosign verify --key pub.pem' passes.

The lock is the one built into pypyctl unless --lock names a file; a file
that does not exist, or lacks an architecture, is resolved with apt and
written. --update-lock resolves every package again.`,
		Example: `  pypyctl package oci --layout oci/
  pypyctl package oci --push 127.0.0.1:5000/pypy:3.9 --insecure
  pypyctl package oci --targets linux-amd64 --push registry.example/pypy:3.9 --sign --key keys/cosign.key
  pypyctl package oci --lock packaging/oci/oci-lock.yaml --update-lock --layout oci/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.layout == "") == (f.push == "") {
				return Usagef("give exactly one of --layout DIR or --push REGISTRY/REPO:TAG")
			}
			if err := checkSignFlags(f.sign, f.key); err != nil {
				return err
			}
			if f.user != "root" && f.user != oci.PyPyUser {
				return Usagef("--user %s: choose root or %s", f.user, oci.PyPyUser)
			}
			var push *name.Tag
			if f.push != "" {
				var opts []name.Option
				if f.insecure {
					opts = append(opts, name.Insecure)
				}
				tag, err := name.NewTag(f.push, opts...)
				if err != nil {
					return Usagef("--push %s: %v", f.push, err)
				}
				push = &tag
			}
			m, r, err := a.matrixRelease(f.release)
			if err != nil {
				return err
			}
			targets, err := ociTargets(m, r, f.targets)
			if err != nil {
				return err
			}
			st, d, err := a.OpenStore(f.storeDir)
			if err != nil {
				return err
			}
			var signer signature.Signer
			if f.sign {
				if signer, err = keys.LoadSigner(f.key, []byte(a.Getenv(keys.PasswordEnv))); err != nil {
					return err
				}
			}
			lock, err := oci.LoadLock(f.lock)
			if err != nil {
				return err
			}
			if f.updateLock && f.lock == "" {
				return Usagef("--update-lock needs --lock FILE: the lock built into pypyctl cannot be rewritten")
			}
			p := a.progress()
			rep, err := release.OCI(cmd.Context(), release.OCIOptions{
				Trees: release.Trees{Matrix: m, Store: st, Dirs: d, NoSmoke: f.noSmoke,
					Logger: a.Logger, Progress: p.update},
				Release: r, Targets: targets,
				Image: oci.PackageOptions{
					Options: oci.Options{
						Lock: lock, UpdateLock: f.updateLock, User: f.user, Packages: f.packages,
						Builder: builderID(), MatrixSHA256: matrixSHA256(m),
					},
					Signer: signer, Identity: f.identity, Push: push, Layout: f.layout, Tag: f.tag,
				},
			})
			p.clear()
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) { renderOCI(w, rep, push != nil) })
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.release, "release", "", "release to package (default: the matrix's default_release)")
	fl.StringVar(&f.targets, "targets", "", "comma-separated Linux targets (default: every Linux target of the release)")
	fl.StringVar(&f.layout, "layout", "", "write an OCI image layout into DIR")
	fl.StringVar(&f.push, "push", "", "push to REGISTRY/REPO:TAG")
	fl.StringVar(&f.tag, "tag", "", "name of the index in the --layout (default: PYTHON-PYPY, e.g. 3.9-7.3.11)")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP to the registry")
	fl.BoolVar(&f.sign, "sign", false, "sign the index and images (cosign-compatible) and attest SBOM and provenance")
	fl.StringVar(&f.key, "key", "", "ECDSA P-256 PEM private key for --sign (an encrypted one reads $"+keys.PasswordEnv+")")
	fl.StringVar(&f.identity, "identity", "", "repository the signatures name (default: the --push repository; \"pypy\" for --layout)")
	fl.StringVar(&f.lock, "lock", "", "OCI lock file pinning the base packages (default: the one built into pypyctl)")
	fl.BoolVar(&f.updateLock, "update-lock", false, "resolve the base packages again from apt and rewrite --lock")
	fl.StringVar(&f.user, "user", "root", "user the image runs as: root or pypy (uid 1000)")
	fl.StringArrayVar(&f.packages, "package", nil, "extra Debian package for the base layer (repeatable)")
	fl.StringVar(&f.storeDir, "store", "", "content-addressed store (default: the cache dir's store/)")
	fl.BoolVar(&f.noSmoke, "no-smoke", false, "skip running each tree's interpreter before packaging")
	return c
}

// ociTargets are the targets asked for, or every Linux target the release
// ships with a Debian architecture.
func ociTargets(m *platforms.Matrix, r *platforms.Release, list string) ([]*platforms.Target, error) {
	var names []string
	if list != "" {
		names = strings.Split(list, ",")
	} else {
		for _, rt := range r.Targets {
			if t, err := m.Target(rt.Name); err == nil && t.OS == "linux" && t.DebianArch != "" {
				names = append(names, rt.Name)
			}
		}
	}
	var out []*platforms.Target
	for _, n := range names {
		t, err := m.Target(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		if t.OS != "linux" || t.DebianArch == "" {
			return nil, Usagef("target %s: OCI images are made for Linux targets with a Debian architecture", t.Name)
		}
		if _, ok := r.Target(t.Name); !ok {
			return nil, fmt.Errorf("release %s does not ship target %s", r.Name, t.Name)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("release %s ships no Linux target to make an image of", r.Name)
	}
	return out, nil
}

// matrixSHA256 is the digest of the matrix's bytes, for the provenance
// ("" when the file cannot be read again).
func matrixSHA256(m *platforms.Matrix) string {
	b := platforms.EmbeddedYAML()
	if m.Path != platforms.EmbeddedName {
		var err error
		if b, err = os.ReadFile(m.Path); err != nil {
			return ""
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func renderOCI(w io.Writer, rep *oci.Report, pushed bool) {
	verb := "wrote"
	if pushed {
		verb = "pushed"
	}
	fmt.Fprintf(w, "%s %s\nindex %s\n", verb, rep.Reference, rep.Digest)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, img := range rep.Images {
		var sizes []string
		for _, l := range img.Layers {
			sizes = append(sizes, fmt.Sprintf("%s %s", l.Name, fsutil.HumanSize(l.Size)))
		}
		fmt.Fprintf(tw, "  %s\t%s\t(%s; %d Debian packages)\n", img.Platform, img.Digest, strings.Join(sizes, " + "), img.Packages)
	}
	tw.Flush()
	kinds := map[string]int{}
	for _, at := range rep.Attachments {
		kinds[at.Kind]++
	}
	var parts []string
	for _, k := range []string{"sbom", "provenance", "signature", "attestation"} {
		if kinds[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	fmt.Fprintf(w, "attached: %s\n", strings.Join(parts, ", "))
	if rep.Lock.Written {
		fmt.Fprintf(w, "wrote OCI lock %s\n", rep.Lock.Path)
	}
}
