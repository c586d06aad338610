package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureBuildsOnceThenHits(t *testing.T) {
	s := NewLocal(t.TempDir())
	k, err := NewKey("test", 1, map[string]string{"in": "a"})
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	build := func(_ context.Context, dir string) error {
		builds++
		write(t, dir, "sub/out.txt", "hello")
		return os.Symlink("sub/out.txt", filepath.Join(dir, "link"))
	}
	r1, err := s.Ensure(context.Background(), k, build)
	if err != nil || r1.Hit {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, err := s.Ensure(context.Background(), k, build)
	if err != nil || !r2.Hit || r2.Dir != r1.Dir {
		t.Fatalf("second: %+v %v", r2, err)
	}
	if builds != 1 {
		t.Fatalf("built %d times", builds)
	}
	if b, _ := os.ReadFile(filepath.Join(r2.Dir, "link")); string(b) != "hello" {
		t.Fatalf("content through link: %q", b)
	}
}

func TestDamagedEntryIsRebuilt(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"flipped byte", func(t *testing.T, dir string) { write(t, dir, "out.txt", "hellO") }},
		{"removed file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "out.txt")) }},
		{"extra file", func(t *testing.T, dir string) { write(t, dir, "evil.txt", "x") }},
		{"mode change", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "out.txt"), 0o755) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var warned []string
			s := &Local{Root: t.TempDir(), Warn: func(m string) { warned = append(warned, m) }}
			k, _ := NewKey("test", 1, c.name)
			builds := 0
			build := func(_ context.Context, dir string) error {
				builds++
				write(t, dir, "out.txt", "hello")
				return nil
			}
			r, err := s.Ensure(context.Background(), k, build)
			if err != nil {
				t.Fatal(err)
			}
			c.damage(t, r.Dir)
			r2, err := s.Ensure(context.Background(), k, build)
			if err != nil {
				t.Fatal(err)
			}
			if r2.Hit || builds != 2 {
				t.Fatalf("damaged entry was used: hit=%v builds=%d", r2.Hit, builds)
			}
			if b, _ := os.ReadFile(filepath.Join(r2.Dir, "out.txt")); string(b) != "hello" {
				t.Fatalf("rebuilt content %q", b)
			}
			if len(warned) != 1 || !strings.Contains(warned[0], "damaged") {
				t.Fatalf("warnings: %v", warned)
			}
		})
	}
}

func TestFailedBuildLeavesNothing(t *testing.T) {
	s := NewLocal(t.TempDir())
	k, _ := NewKey("test", 1, "fail")
	boom := errors.New("boom")
	_, err := s.Ensure(context.Background(), k, func(_ context.Context, dir string) error {
		write(t, dir, "half.txt", "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := s.Lookup(k); ok {
		t.Fatal("failed build left an entry")
	}
	left, _ := filepath.Glob(filepath.Join(s.Root, "tmp", "*"))
	if len(left) != 0 {
		t.Fatalf("temp dirs left: %v", left)
	}
}

func TestConcurrentEnsureBuildsOnce(t *testing.T) {
	s := NewLocal(t.TempDir())
	k, _ := NewKey("test", 1, "concurrent")
	var builds atomic.Int32
	var wg sync.WaitGroup
	hits := make([]bool, 8)
	for i := range hits {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := s.Ensure(context.Background(), k, func(_ context.Context, dir string) error {
				builds.Add(1)
				write(t, dir, "out.txt", "once")
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			hits[i] = r.Hit
		}(i)
	}
	wg.Wait()
	if builds.Load() != 1 {
		t.Fatalf("built %d times", builds.Load())
	}
}

func TestKeyDependsOnEveryPart(t *testing.T) {
	base, _ := NewKey("s", 1, map[string]any{"a": 1, "b": "x"})
	same, _ := NewKey("s", 1, map[string]any{"b": "x", "a": 1})
	if base != same {
		t.Fatal("map order changed the key")
	}
	for _, k := range []struct {
		stage   string
		version int
		in      any
	}{
		{"t", 1, map[string]any{"a": 1, "b": "x"}},
		{"s", 2, map[string]any{"a": 1, "b": "x"}},
		{"s", 1, map[string]any{"a": 2, "b": "x"}},
	} {
		other, _ := NewKey(k.stage, k.version, k.in)
		if other == base {
			t.Errorf("%+v gives the same key", k)
		}
	}
}
