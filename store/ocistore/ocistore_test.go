package ocistore

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pypyctl/pypyctl/store"
)

// newRegistry serves go-containerregistry's in-memory registry on
// 127.0.0.1 and returns an oci:// reference to a repository in it.
func newRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/pypyctl/store"
}

func open(t *testing.T, ref string) *Store {
	t.Helper()
	s, err := New(ref, store.NewLocal(t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func key(t *testing.T, name string) store.Key {
	t.Helper()
	k, err := store.NewKey("test", 1, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeTree makes a small tree with a subdirectory, an executable, a
// symlink and an empty file.
func writeTree(dir, body string) error {
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "pypy3"), []byte("#!/bin/sh\necho "+body+"\n"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644); err != nil {
		return err
	}
	return os.Symlink("bin/pypy3", filepath.Join(dir, "python"))
}

func TestSharedThroughRegistry(t *testing.T) {
	ref := newRegistry(t)
	ctx := context.Background()
	a, b := open(t, ref), open(t, ref)
	k := key(t, "vm")
	builds := 0
	build := func(_ context.Context, dir string) error { builds++; return writeTree(dir, "one") }

	ra, err := a.Ensure(ctx, k, build)
	if err != nil || ra.Hit {
		t.Fatalf("first Ensure: hit=%v err=%v", ra.Hit, err)
	}
	rb, err := b.Ensure(ctx, k, build)
	if err != nil || !rb.Hit {
		t.Fatalf("second builder: hit=%v err=%v, want a hit pulled from the registry", rb.Hit, err)
	}
	if builds != 1 {
		t.Fatalf("built %d times, want 1", builds)
	}
	ma, _ := store.BuildManifest(ra.Dir)
	mb, _ := store.BuildManifest(rb.Dir)
	if string(ma) != string(mb) || len(ma) == 0 {
		t.Fatalf("pulled entry differs:\n%s\nvs\n%s", ma, mb)
	}
	// The pull landed in b's local store: a plain local lookup finds it.
	if _, ok, err := b.Local.Lookup(k); !ok || err != nil {
		t.Fatalf("pulled entry not in the local store: ok=%v err=%v", ok, err)
	}
	keys, err := a.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0] != k {
		t.Fatalf("Keys = %v, %v; want [%s]", keys, err, k)
	}
}

func TestLookupPullsAndMisses(t *testing.T) {
	ref := newRegistry(t)
	ctx := context.Background()
	a, b := open(t, ref), open(t, ref)
	tests := []struct {
		name   string
		push   bool
		wantOK bool
	}{
		{"present", true, true},
		{"absent", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key(t, tt.name)
			if tt.push {
				if _, err := a.Ensure(ctx, k, func(_ context.Context, dir string) error { return writeTree(dir, tt.name) }); err != nil {
					t.Fatal(err)
				}
			}
			_, ok, err := b.Lookup(k)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("Lookup = %v, %v; want %v", ok, err, tt.wantOK)
			}
		})
	}
}

// A builder killed after storing locally but before pushing pushes on its
// rerun, without building again.
func TestResumePushesLocalEntry(t *testing.T) {
	ref := newRegistry(t)
	ctx := context.Background()
	a := open(t, ref)
	k := key(t, "resume")
	if _, err := a.Local.Ensure(ctx, k, func(_ context.Context, dir string) error { return writeTree(dir, "r") }); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.Has(ctx, k); ok || err != nil {
		t.Fatalf("Has before push = %v, %v", ok, err)
	}
	res, err := a.Ensure(ctx, k, func(context.Context, string) error { return errors.New("must not build") })
	if err != nil || !res.Hit {
		t.Fatalf("Ensure = %+v, %v", res, err)
	}
	if ok, err := a.Has(ctx, k); !ok || err != nil {
		t.Fatalf("Has after rerun = %v, %v; want the entry pushed", ok, err)
	}
}

// The same entry packs to the same manifest digest from two builders, so
// the registry stores its blobs once.
func TestPushIsReproducible(t *testing.T) {
	ref := newRegistry(t)
	ctx := context.Background()
	a, b := open(t, ref), open(t, ref)
	k := key(t, "repro")
	for _, s := range []*Store{a, b} {
		if _, err := s.Local.Ensure(ctx, k, func(_ context.Context, dir string) error { return writeTree(dir, "same") }); err != nil {
			t.Fatal(err)
		}
	}
	var digests []string
	for _, s := range []*Store{a, b} {
		if err := s.Push(ctx, k); err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(s.tag(k))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Fatalf("two pushes of one entry differ: %v", digests)
	}
}

// An artifact whose files do not match its MANIFEST is refused and
// nothing is stored locally.
func TestPullRejectsMismatch(t *testing.T) {
	ref := newRegistry(t)
	ctx := context.Background()
	a, b := open(t, ref), open(t, ref)
	k, other := key(t, "real"), key(t, "other")
	for _, kk := range []store.Key{k, other} {
		if _, err := a.Ensure(ctx, kk, func(_ context.Context, dir string) error { return writeTree(dir, string(kk)) }); err != nil {
			t.Fatal(err)
		}
	}
	// Retag other's artifact under k: key in config no longer matches.
	desc, err := remote.Get(a.tag(other))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := desc.Image()
	if err := remote.Write(a.tag(k), img); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Lookup(k); err == nil || ok {
		t.Fatalf("Lookup of a mislabelled artifact = %v, %v; want an error", ok, err)
	}
	if _, ok, _ := b.Local.Lookup(k); ok {
		t.Fatal("mislabelled artifact was stored locally")
	}
}

func TestNewRejectsBadRefs(t *testing.T) {
	tests := []struct {
		ref string
		ok  bool
	}{
		{"oci://127.0.0.1:5000/pypyctl/store", true},
		{"oci://registry.example/a", true},
		{"/some/dir", false},
		{"oci://hostonly", false},
		{"oci://127.0.0.1:5000/UPPER", false},
	}
	for _, tt := range tests {
		_, err := New(tt.ref, store.NewLocal(t.TempDir()), Options{})
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) err = %v, want ok=%v", tt.ref, err, tt.ok)
		}
	}
}

func TestLocalOf(t *testing.T) {
	s := open(t, newRegistry(t))
	tests := []struct {
		name string
		in   store.Store
		want *store.Local
	}{
		{"registry store", s, s.Local},
		{"local store", s.Local, s.Local},
	}
	for _, tt := range tests {
		if got, ok := store.LocalOf(tt.in); !ok || got != tt.want {
			t.Errorf("%s: LocalOf = %v, %v", tt.name, got, ok)
		}
	}
}

// A cancelled context stops a pull before anything is stored.
func TestPullCancelled(t *testing.T) {
	ref := newRegistry(t)
	a, b := open(t, ref), open(t, ref)
	k := key(t, "cancel")
	if _, err := a.Ensure(context.Background(), k, func(_ context.Context, dir string) error { return writeTree(dir, "c") }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok, err := b.Pull(ctx, k); err == nil || ok {
		t.Fatalf("Pull with a cancelled context = %v, %v", ok, err)
	}
	if _, ok, _ := b.Local.Lookup(k); ok {
		t.Fatal("cancelled pull stored the entry")
	}
}
