package install

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

func TestPruneDownloads(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", rel311)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	if _, err := in.Install(context.Background(), mustRequest(t, "3.11"), Options{Index: dest}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Downloads(), "pypy3.9-v7.3.11-linux64.tar.gz"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(d.Downloads(), "pypy3.10-v7.3.19-linux64.tar.gz.part"), []byte("half"), 0o644)
	l := Layout{Data: d.Data}
	tests := []struct {
		name      string
		all, dry  bool
		wantNames int
		left      int
	}{
		{"dry run", false, true, 2, 3},
		{"unused and partial", false, false, 2, 1},
		{"all", true, false, 1, 0},
	}
	for _, tt := range tests {
		removed, _, err := PruneDownloads(context.Background(), d, l, tt.all, tt.dry)
		if err != nil || len(removed) != tt.wantNames {
			t.Fatalf("%s: removed %+v, %v", tt.name, removed, err)
		}
		left, _ := Downloads(d, l)
		if len(left) != tt.left {
			t.Errorf("%s: left %+v", tt.name, left)
		}
	}
}

// A download in progress (its download lock held) is never pruned, and
// lock files are neither listed nor removed.
func TestPruneDownloadsSkipsHeldDownloadLock(t *testing.T) {
	d := testDirs(t)
	l := Layout{Data: d.Data}
	os.MkdirAll(d.Downloads(), 0o755)
	archive := filepath.Join(d.Downloads(), "pypy3.10-v7.3.19-linux64.tar.gz")
	os.WriteFile(archive+".part", []byte("half"), 0o644)
	os.WriteFile(filepath.Join(d.Downloads(), "pypy3.9-v7.3.11-linux64.tar.gz"), []byte("old"), 0o644)
	lock, err := fsutil.Acquire(context.Background(), downloadLock(archive), nil)
	if err != nil {
		t.Fatal(err)
	}
	removed, _, err := PruneDownloads(context.Background(), d, l, true, false)
	if err != nil || len(removed) != 1 || removed[0].Name != "pypy3.9-v7.3.11-linux64.tar.gz" {
		t.Fatalf("removed %+v, %v", removed, err)
	}
	if _, err := os.Stat(archive + ".part"); err != nil {
		t.Fatalf("the part being downloaded was removed: %v", err)
	}
	lock.Release()
	left, _ := Downloads(d, l)
	if len(left) != 1 || left[0].Name != "pypy3.10-v7.3.19-linux64.tar.gz.part" {
		t.Fatalf("left %+v", left)
	}
	if _, _, err := PruneDownloads(context.Background(), d, l, true, false); err != nil {
		t.Fatal(err)
	}
	if left, _ := Downloads(d, l); len(left) != 0 {
		t.Fatalf("left %+v", left)
	}
	if _, err := os.Stat(downloadLock(archive)); err != nil {
		t.Fatalf("lock file removed: %v", err)
	}
}
