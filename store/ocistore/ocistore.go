// Package ocistore is the oci://REGISTRY/REPO store backend: a registry
// repository layered over a local directory store (store.Local), so
// stages always get a local directory and builders on different machines
// share outputs through nothing but the registry.
//
// Each entry is one OCI artifact tagged with its key (the 64 hex digits
// are a valid tag): a config blob of media type ConfigMediaType holding
// the key and the entry's MANIFEST, and one layer of media type
// LayerMediaType, a deterministic tar.gz of the content directory. The
// same entry always makes the same bytes, so the registry deduplicates
// blobs across builders and repeated pushes upload nothing.
//
// Lookup: a local hit, else the artifact is pulled, unpacked, checked
// against its MANIFEST and moved into the local store; a mismatch stores
// nothing. Ensure: as Local (pulling first), then the entry is pushed if
// the registry lacks it, also when it was already local, so a builder
// killed between building and pushing pushes on its rerun.
//
// For callers that handle keys themselves (release gathering per-target
// records): Keys lists the keys the repository holds, Has asks about one,
// Pull fetches one into the local store and Push uploads a local entry.
//
// Auth is go-containerregistry's default keychain (DOCKER_CONFIG and
// credential helpers). Loopback and private-address registries are spoken
// to over plain HTTP (go-containerregistry's rule); PYPYCTL_STORE_INSECURE=1
// allows plain HTTP for any host.
package ocistore

import (
	"archive/tar"

	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/store"
)

// Media types of the artifact an entry is stored as.
const (
	ConfigMediaType types.MediaType = "application/vnd.pypyctl.store.entry.v1+json"
	LayerMediaType  types.MediaType = "application/vnd.pypyctl.store.content.v1.tar+gzip"
)

// Scheme prefixes a registry store reference.
const Scheme = "oci://"

// IsRef reports whether a --store value names a registry store.
func IsRef(s string) bool { return strings.HasPrefix(s, Scheme) }

// Options tune a registry store.
type Options struct {
	// Insecure allows plain HTTP to a non-loopback registry.
	Insecure bool
	// Logger is told about pulls and pushes; nil logs nothing.
	Logger *slog.Logger
	// Remote options added after auth and context (tests pass transports).
	Remote []remote.Option
}

// Store is a registry repository over a local cache store.
type Store struct {
	Local *store.Local
	Repo  name.Repository
	opt   Options
}

var _ store.Store = (*Store)(nil)

// New opens the registry store ref (oci://HOST[:PORT]/REPO) over local.
func New(ref string, local *store.Local, opt Options) (*Store, error) {
	if !IsRef(ref) {
		return nil, fmt.Errorf("store %q: want %sREGISTRY/REPO", ref, Scheme)
	}
	rest := strings.TrimPrefix(ref, Scheme)
	if !strings.Contains(rest, "/") {
		return nil, fmt.Errorf("store %q: want %sREGISTRY/REPO (no repository path)", ref, Scheme)
	}
	var nopts []name.Option
	nopts = append(nopts, name.StrictValidation)
	if opt.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(rest, nopts...)
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", ref, err)
	}
	return &Store{Local: local, Repo: repo, opt: opt}, nil
}

// entryConfig is the config blob: what the entry is and how to check it.
type entryConfig struct {
	Key      store.Key `json:"key"`
	Manifest string    `json:"manifest"`
}

// Cache returns the local store the registry is layered over
// (store.LocalOf uses it).
func (s *Store) Cache() *store.Local { return s.Local }

func (s *Store) log() *slog.Logger { return logging.OrDiscard(s.opt.Logger) }

func (s *Store) remote(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, s.opt.Remote...)
}

func (s *Store) tag(k store.Key) name.Tag { return s.Repo.Tag(string(k)) }

// Lookup returns k's content directory: local, else pulled from the registry.
func (s *Store) Lookup(k store.Key) (string, bool, error) {
	return s.lookup(context.Background(), k)
}

func (s *Store) lookup(ctx context.Context, k store.Key) (string, bool, error) {
	if dir, ok, err := s.Local.Lookup(k); err != nil || ok {
		return dir, ok, err
	}
	return s.Pull(ctx, k)
}

// Ensure returns k's entry: local, pulled, or built and then pushed.
func (s *Store) Ensure(ctx context.Context, k store.Key, build func(ctx context.Context, dir string) error) (store.Result, error) {
	if dir, ok, err := s.Local.Lookup(k); err != nil {
		return store.Result{}, err
	} else if ok {
		// Present here; make sure the registry has it too (a builder
		// killed after building but before pushing catches up now).
		if err := s.pushIfMissing(ctx, k); err != nil {
			return store.Result{}, err
		}
		return store.Result{Key: k, Dir: dir, Hit: true}, nil
	}
	if dir, ok, err := s.Pull(ctx, k); err != nil || ok {
		return store.Result{Key: k, Dir: dir, Hit: ok}, err
	}
	res, err := s.Local.Ensure(ctx, k, build)
	if err != nil {
		return res, err
	}
	if err := s.pushIfMissing(ctx, k); err != nil {
		return store.Result{}, err
	}
	return res, nil
}

func (s *Store) pushIfMissing(ctx context.Context, k store.Key) error {
	ok, err := s.Has(ctx, k)
	if err != nil || ok {
		return err
	}
	return s.Push(ctx, k)
}

// Has reports whether the registry holds an entry for k.
func (s *Store) Has(ctx context.Context, k store.Key) (bool, error) {
	_, err := remote.Head(s.tag(k), s.remote(ctx)...)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store %s: look up %s: %w", s.Repo, k.Short(), err)
	}
	return true, nil
}

// Keys lists the keys the registry repository holds, sorted.
func (s *Store) Keys(ctx context.Context) ([]store.Key, error) {
	tags, err := remote.List(s.Repo, s.remote(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: list: %w", s.Repo, err)
	}
	var keys []store.Key
	for _, t := range tags {
		if isKey(t) {
			keys = append(keys, store.Key(t))
		}
	}
	// Registries list tags in their own order.
	slices.Sort(keys)
	return keys, nil
}

func isKey(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func isNotFound(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		// Registries answer a missing repository with 404 or, for
		// tag lists, NAME_UNKNOWN.
		if te.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// Pull fetches k into the local store. It returns false when the registry
// has no entry for k; an artifact that does not match its own MANIFEST is
// an error and leaves nothing behind.
func (s *Store) Pull(ctx context.Context, k store.Key) (string, bool, error) {
	desc, err := remote.Get(s.tag(k), s.remote(ctx)...)
	if isNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store %s: pull %s: %w", s.Repo, k.Short(), err)
	}
	img, err := desc.Image()
	if err != nil {
		return "", false, fmt.Errorf("store %s: pull %s: %w", s.Repo, k.Short(), err)
	}
	cfg, layer, err := readArtifact(img)
	if err != nil {
		return "", false, fmt.Errorf("store %s: pull %s: %w", s.Repo, k.Short(), err)
	}
	if cfg.Key != k {
		return "", false, fmt.Errorf("store %s: tag %s holds the entry for key %s", s.Repo, k.Short(), cfg.Key.Short())
	}
	start := time.Now()
	res, err := s.Local.Ensure(ctx, k, func(ctx context.Context, dir string) error {
		rc, err := layer.Compressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := untar(ctx, rc, dir); err != nil {
			return err
		}
		got, err := store.BuildManifest(dir)
		if err != nil {
			return err
		}
		if string(got) != cfg.Manifest {
			return errors.New("unpacked files do not match the entry's MANIFEST")
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("store %s: pull %s: %w", s.Repo, k.Short(), err)
	}
	s.log().Info("store: pulled", "key", k.Short(), "repo", s.Repo.String(), "took", time.Since(start).Round(100*time.Millisecond))
	return res.Dir, true, nil
}

func readArtifact(img v1.Image) (*entryConfig, v1.Layer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, err
	}
	if m.Config.MediaType != ConfigMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType {
		return nil, nil, fmt.Errorf("not a pypyctl store entry (config %s, %d layers)", m.Config.MediaType, len(m.Layers))
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, err
	}
	var cfg entryConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, nil, fmt.Errorf("entry config: %w", err)
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, nil, err
	}
	return &cfg, layer, nil
}

// Push uploads k's local entry. Blobs the registry has are not sent again.
func (s *Store) Push(ctx context.Context, k store.Key) error {
	dir, ok, err := s.Local.Lookup(k)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("store %s: push %s: no such local entry", s.Repo, k.Short())
	}
	man, err := store.BuildManifest(dir)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "pypyctl-push-*.tar.gz")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	start := time.Now()
	h := sha256.New()
	if err := writeTar(ctx, io.MultiWriter(tmp, h), dir, man); err != nil {
		return fmt.Errorf("store %s: pack %s: %w", s.Repo, k.Short(), err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	cfg, err := json.Marshal(entryConfig{Key: k, Manifest: string(man)})
	if err != nil {
		return err
	}
	img, err := newArtifact(cfg, &fileLayer{path: tmp.Name(), size: size, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}})
	if err != nil {
		return err
	}
	if err := remote.Write(s.tag(k), img, s.remote(ctx)...); err != nil {
		return fmt.Errorf("store %s: push %s: %w", s.Repo, k.Short(), err)
	}
	s.log().Info("store: pushed", "key", k.Short(), "repo", s.Repo.String(), "bytes", size, "took", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// writeTar packs dir in manifest order with fixed owners and times, so one
// entry always makes the same bytes (and the same blob digest).
func writeTar(ctx context.Context, w io.Writer, dir string, man store.Manifest) error {
	// BestSpeed: these blobs mostly cross fast links; the level is fixed
	// so the bytes are too.
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, line := range strings.Split(strings.TrimSuffix(string(man), "\n"), "\n") {
		if line == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f := strings.SplitN(line, " ", 5)
		if len(f) != 5 {
			return fmt.Errorf("bad manifest line %q", line)
		}
		rel := f[4]
		p := filepath.Join(dir, filepath.FromSlash(rel))
		hdr := &tar.Header{Name: rel, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		var mode int64
		if f[1] != "-" {
			fmt.Sscanf(f[1], "%o", &mode)
		}
		switch f[0] {
		case "d":
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", mode
		case "l":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f[3], 0o777
		case "f":
			info, err := os.Lstat(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, mode, info.Size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if f[0] == "f" {
			if err := copyFile(tw, p); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func copyFile(w io.Writer, p string) error {
	r, err := os.Open(p)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}

// untar unpacks an entry layer into dir through an os.Root, so no entry
// name or symlink can write outside dir.
func untar(ctx context.Context, r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.FromSlash(strings.TrimSuffix(hdr.Name, "/"))
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("entry name %q leaves the entry", hdr.Name)
		}
		perm := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := root.Chmod(rel, perm); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, rel); err != nil {
				return err
			}
		case tar.TypeReg:
			f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := root.Chmod(rel, perm); err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: unsupported tar type %c", hdr.Name, hdr.Typeflag)
		}
	}
}

// artifact is an entry as an OCI image: our own config blob and one
// layer. go-containerregistry's mutate package only builds image configs,
// so the manifest is written here.
type artifact struct {
	config, manifest []byte
	layer            *fileLayer
}

func newArtifact(config []byte, l *fileLayer) (v1.Image, error) {
	cd := sha256.Sum256(config)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: ConfigMediaType, Size: int64(len(config)),
			Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(cd[:])},
		},
		Layers: []v1.Descriptor{{MediaType: LayerMediaType, Size: l.size, Digest: l.digest}},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{config: config, manifest: raw, layer: l})
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return a.config, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == a.layer.digest {
		return a.layer, nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}

// fileLayer is a packed entry in a temporary file, so large entries are
// streamed rather than held in memory.
type fileLayer struct {
	path   string
	size   int64
	digest v1.Hash
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return LayerMediaType, nil }
