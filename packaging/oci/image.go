package oci

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/trust/sbom"
	"github.com/pypyctl/pypyctl/vm"
)

// Prefix is where the release tree goes in the image. /opt/pypy, as in
// docker-library's pypy images: the relocatable tree stays in one piece
// (bin/, lib/pypyX.Y/, include/ side by side, as released), apart from
// the Debian base under /usr, so the two layers never overlap.
const Prefix = "/opt/pypy"

// Input is one Linux target's assembled tree.
type Input struct {
	Target *platforms.Target
	Tree   string       // the tree's root (…/pypy3.9-v7.3.11-linux64)
	VM     *vm.Metadata // versions, RuntimeDepends
	// Inputs are the pinned inputs the tree was made from (Debian
	// packages, wheels), listed in the SBOM and the provenance.
	Inputs []vm.Input
}

// Options configure one image build.
type Options struct {
	Release *platforms.Release
	Project platforms.Project
	Inputs  []Input
	// Lock pins the base packages; UpdateLock resolves them afresh.
	Lock       *Lock
	UpdateLock bool
	Archive    Archive // nil: the host's apt
	CacheDir   string  // verified .debs, kept by file name
	// WorkDir holds the layer files; it must outlive writing the result.
	WorkDir  string
	User     string   // "root" (default) or "pypy": the user the image runs as
	Packages []string // extra Debian packages in every image
	Builder  string   // pypyctl's version, for the SBOM and provenance
	// The matrix the release came from, named in the provenance.
	MatrixName, MatrixSHA256 string
	Logger                   *slog.Logger // nil: log nothing
}

// Result is a built image index, in memory and in WorkDir.
type Result struct {
	Index       v1.ImageIndex
	Digest      v1.Hash
	Images      []*Image
	Annotations map[string]string
	// Provenance is the in-toto SLSA statement about the index.
	Provenance []byte
	// LockChanged says the lock was written (first run or update).
	LockChanged bool
}

// Image is one platform's image.
type Image struct {
	Target   string
	Platform v1.Platform
	Image    v1.Image
	Digest   v1.Hash
	Packages []platforms.DebPackage // in the base layer
	Layers   []LayerInfo
	SBOM     []byte // CycloneDX JSON

	libraries []sbom.Library // which base package provides each library the tree needs
	treeFiles int            // regular files of the tree in the image
}

// LayerInfo describes one layer.
type LayerInfo struct {
	Name   string  `json:"name"`
	Digest v1.Hash `json:"digest"`
	DiffID v1.Hash `json:"diff_id"`
	Size   int64   `json:"size"`
	Files  int     `json:"files"`
}

func (o *Options) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

// Build makes one image per input and the index over them. The lock is
// saved only when every image was built.
func Build(ctx context.Context, o Options) (*Result, error) {
	r := o.Release
	if r == nil || len(o.Inputs) == 0 {
		return nil, errors.New("oci: a release and at least one tree are needed")
	}
	if o.Lock == nil {
		return nil, errors.New("oci: no lock")
	}
	if o.Archive == nil {
		o.Archive = Apt{}
	}
	switch o.User {
	case "", "root", PyPyUser:
	default:
		return nil, fmt.Errorf("user %q: the image knows root and %s", o.User, PyPyUser)
	}
	if o.WorkDir == "" || o.CacheDir == "" {
		return nil, errors.New("oci: WorkDir and CacheDir are needed")
	}
	inputs := append([]Input(nil), o.Inputs...)
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Target.Name < inputs[j].Target.Name })
	for i, in := range inputs {
		if in.Target.OS != "linux" || in.Target.DebianArch == "" {
			return nil, fmt.Errorf("target %s: OCI images are built for Linux targets with a Debian architecture", in.Target.Name)
		}
		if i > 0 && inputs[i-1].Target.Name == in.Target.Name {
			return nil, fmt.Errorf("target %s given twice", in.Target.Name)
		}
	}
	created := time.Unix(r.SourceDateEpoch, 0).UTC()
	anns := annotations(r, o.Project, created)
	res := &Result{Annotations: anns}

	// Resolve every architecture first, so a lock problem shows before
	// any layer is compressed.
	type plan struct {
		in    Input
		needs *elfNeeds
		pins  []platforms.DebPackage
	}
	var plans []plan
	for _, in := range inputs {
		needs, err := scanTree(in.Tree, in.Target.Arch)
		if err != nil {
			return nil, err
		}
		rootSet, err := roots(needs, in.VM.DebianDepends(), o.Packages)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Target.Name, err)
		}
		pkgs, changed, err := pins(ctx, o.Archive, o.Lock, in.Target.DebianArch, rootSet, o.UpdateLock, o.log())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Target.Name, err)
		}
		res.LockChanged = res.LockChanged || changed
		plans = append(plans, plan{in, needs, pkgs})
	}
	if o.Lock.Suite == "" && r.Debian != nil {
		o.Lock.Suite = r.Debian.Suite
	}

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, p := range plans {
		img, err := buildImage(ctx, &o, p.in, p.needs, p.pins, created, anns)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.in.Target.Name, err)
		}
		res.Images = append(res.Images, img)
		plat := img.Platform
		adds = append(adds, mutate.IndexAddendum{Add: plainImage{img.Image}, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1, Platform: &plat,
		}})
	}
	idx = mutate.AppendManifests(idx, adds...)
	res.Index = mutate.Annotations(idx, anns).(v1.ImageIndex)
	d, err := res.Index.Digest()
	if err != nil {
		return nil, fmt.Errorf("index digest: %w", err)
	}
	res.Digest = d
	for _, img := range res.Images {
		if img.SBOM, err = imageSBOM(ctx, r, inputFor(inputs, img.Target), img, o.Builder); err != nil {
			return nil, err
		}
	}
	if res.Provenance, err = provenanceStatement(&o, res, inputs); err != nil {
		return nil, err
	}
	if res.LockChanged {
		if err := o.Lock.Save(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// plainImage keeps go-containerregistry from giving an image's index
// entry an artifactType (the config media type): images are not artifacts,
// and docker-library's indexes have none.
type plainImage struct{ v1.Image }

func (plainImage) ArtifactType() (string, error) { return "", nil }

func inputFor(inputs []Input, target string) Input {
	for _, in := range inputs {
		if in.Target.Name == target {
			return in
		}
	}
	return Input{}
}

// buildImage makes one platform's two layers and its config.
func buildImage(ctx context.Context, o *Options, in Input, needs *elfNeeds, pkgs []platforms.DebPackage, created time.Time, anns map[string]string) (*Image, error) {
	t := in.Target
	debs, err := fetch(ctx, o.Archive, o.CacheDir, pkgs, o.Lock.Name(), o.log())
	if err != nil {
		return nil, err
	}
	if err := checkClosure(debs, o.Lock.Name(), t.DebianArch); err != nil {
		return nil, err
	}
	fsys := newRootfs()
	for _, d := range debs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := fsys.unpack(d); err != nil {
			return nil, fmt.Errorf("unpack %s: %w", d.Pin.FileName(), err)
		}
	}
	if err := fsys.finish(debs); err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	if err := fsys.checkLinks(needs, t.Triplet); err != nil {
		return nil, err
	}
	libs := fsys.providers(needs, t.Triplet, pkgs)
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	o.log().Info("base layer", "target", t.Name, "packages", len(debs))
	base, err := writeLayer(filepath.Join(o.WorkDir, t.Name+"-base.tar.gz"), created, fsys.write)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.log().Info("PyPy layer", "target", t.Name, "tree", filepath.Base(in.Tree), "prefix", Prefix)
	tree, err := writeLayer(filepath.Join(o.WorkDir, t.Name+"-pypy.tar.gz"), created, func(tw *tarOut) error {
		return writeTree(ctx, tw, in.Tree, strings.TrimPrefix(Prefix, "/"))
	})
	if err != nil {
		return nil, fmt.Errorf("PyPy layer: %w", err)
	}

	r := o.Release
	plat := v1.Platform{OS: "linux", Architecture: t.Arch}
	if t.Arch == "arm64" {
		plat.Variant = "v8" // what docker and the official images record
	}
	cfg := &v1.ConfigFile{
		Architecture: plat.Architecture, OS: plat.OS, Variant: plat.Variant,
		Created: v1.Time{Time: created},
		RootFS:  v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Env: []string{
				"PATH=" + Prefix + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"LANG=C.UTF-8",
				"SSL_CERT_FILE=" + CABundle,
				"PYPY_VERSION=" + r.PyPyVersion,
			},
			// Like docker-library's pypy images, so `docker run IMAGE pypy3 …`
			// and scripts written for them work unchanged.
			Cmd:    []string{"pypy3"},
			Labels: anns,
		},
	}
	if o.User == PyPyUser {
		cfg.Config.User = fmt.Sprintf("%d:%d", PyPyUID, PyPyUID)
		cfg.Config.WorkingDir = "/home/" + PyPyUser
	}
	img, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), cfg)
	if err != nil {
		return nil, err
	}
	suite := o.Lock.Suite
	if suite == "" {
		suite = "Debian"
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: fmt.Sprintf("pypyctl package oci: base of %d %s packages, pinned in the OCI lock (listed in /var/lib/dpkg/status.d)", len(debs), suite),
		}},
		mutate.Addendum{Layer: tree, History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: fmt.Sprintf("pypyctl package oci: %s (PyPy %s, Python %s) at %s", r.ArchiveBase(t), r.PyPyVersion, r.PythonVersion, Prefix),
		}},
	)
	if err != nil {
		return nil, err
	}
	img = mutate.Annotations(img, anns).(v1.Image)
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	o.log().Info("image", "target", t.Name, "digest", d.String())
	return &Image{
		Target: t.Name, Platform: plat, Image: img, Digest: d, Packages: pkgs, libraries: libs, treeFiles: tree.regular,
		Layers: []LayerInfo{
			{Name: "base", Digest: base.digest, DiffID: base.diffID, Size: base.size, Files: base.files},
			{Name: "pypy", Digest: tree.digest, DiffID: tree.diffID, Size: tree.size, Files: tree.files},
		},
	}, nil
}

// annotations are the OCI annotations of the index and every image (and
// the images' labels).
func annotations(r *platforms.Release, proj platforms.Project, created time.Time) map[string]string {
	src, rev := proj.Source, ""
	if g := r.Source.Git; g != nil {
		if g.URL != "" {
			src = g.URL
		}
		rev = g.Commit
		if rev == "" {
			rev = g.Tag
		}
	}
	a := map[string]string{
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
		"org.opencontainers.image.title":       "PyPy",
		"org.opencontainers.image.description": fmt.Sprintf("PyPy %s (Python %s) on a minimal Debian base, at %s", r.PyPyVersion, r.PythonVersion, Prefix),
		"org.opencontainers.image.version":     r.PyPyVersion,
		"io.github.pypyctl.release":            r.Name,
		"io.github.pypyctl.python-version":     r.PythonVersion,
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.source":   src,
		"org.opencontainers.image.revision": rev,
		"org.opencontainers.image.licenses": proj.License,
		"org.opencontainers.image.url":      proj.Homepage,
	} {
		if v != "" {
			a[k] = v
		}
	}
	return a
}
