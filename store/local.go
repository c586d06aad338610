package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Result tells where a stage's output is and whether it was already there.
type Result struct {
	Key Key
	Dir string // the output directory (read-only by convention)
	Hit bool   // true: found in the store, nothing was built
}

// Local is a store in a directory: <root>/<kk>/<key>/{content/,MANIFEST}.
type Local struct {
	Root string
	// Warn, when set, is told about entries found damaged and rebuilt.
	Warn func(msg string)
}

// NewLocal returns a store rooted at dir.
func NewLocal(dir string) *Local { return &Local{Root: dir} }

func (s *Local) entry(k Key) string { return filepath.Join(s.Root, string(k[:2]), string(k)) }

// Lookup returns the entry for k if present and intact. A damaged entry is
// removed (and reported through Warn), then treated as missing.
func (s *Local) Lookup(k Key) (string, bool, error) {
	dir := s.entry(k)
	want, err := os.ReadFile(filepath.Join(dir, "MANIFEST"))
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store entry %s: %w", k.Short(), err)
	}
	content := filepath.Join(dir, "content")
	got, err := BuildManifest(content)
	if err != nil || !bytes.Equal(got, want) {
		if s.Warn != nil {
			s.Warn(fmt.Sprintf("store entry %s is damaged (its files no longer match its manifest); rebuilding it", k.Short()))
		}
		if err := os.RemoveAll(dir); err != nil {
			return "", false, fmt.Errorf("remove damaged store entry %s: %w", k.Short(), err)
		}
		return "", false, nil
	}
	// Mark it used, so prune removes what nobody needs any more rather
	// than what was built first. A read-only store just keeps its times.
	now := time.Now()
	_ = os.Chtimes(filepath.Join(dir, "MANIFEST"), now, now)
	return content, true, nil
}

// Ensure returns the output for k, building it with build when missing.
// build writes into an empty directory; on success the directory is moved
// into the store atomically. A per-key lock makes concurrent callers wait
// for one build instead of clashing.
func (s *Local) Ensure(ctx context.Context, k Key, build func(ctx context.Context, dir string) error) (Result, error) {
	lock, err := fsutil.Acquire(ctx, filepath.Join(s.Root, "locks", string(k)+".lock"), nil)
	if err != nil {
		return Result{}, err
	}
	defer lock.Release()
	if dir, ok, err := s.Lookup(k); err != nil || ok {
		return Result{Key: k, Dir: dir, Hit: ok}, err
	}
	return s.put(ctx, k, build)
}

func (s *Local) put(ctx context.Context, k Key, build func(ctx context.Context, dir string) error) (Result, error) {
	tmpRoot := filepath.Join(s.Root, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return Result{}, fmt.Errorf("store: %w", err)
	}
	tmp, err := os.MkdirTemp(tmpRoot, string(k[:12])+"-")
	if err != nil {
		return Result{}, fmt.Errorf("store: %w", err)
	}
	defer os.RemoveAll(tmp)
	content := filepath.Join(tmp, "content")
	if err := os.Mkdir(content, 0o755); err != nil {
		return Result{}, fmt.Errorf("store: %w", err)
	}
	if err := build(ctx, content); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	m, err := BuildManifest(content)
	if err != nil {
		return Result{}, err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(tmp, "MANIFEST"), m, 0o644); err != nil {
		return Result{}, err
	}
	dst := s.entry(k)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Result{}, fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return Result{}, fmt.Errorf("store: move entry %s into place: %w", k.Short(), err)
	}
	return Result{Key: k, Dir: filepath.Join(dst, "content")}, nil
}
