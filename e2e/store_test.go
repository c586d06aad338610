//go:build integration

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreOCISharedBuilders: builders that share nothing but a registry
// on 127.0.0.1 (Debian's docker-registry). Builder 1 is killed -9 right
// after its vm stage was pushed; builder 2, a fresh machine, resumes
// from the registry (vm a store hit) and builds the rest; builder 3, also
// fresh, gets every stage from the registry and writes byte-identical
// archives.
func TestStoreOCISharedBuilders(t *testing.T) {
	ref := "oci://" + startRegistry(t) + "/pypyctl/store"
	args := []string{"build", "--target", "linux-amd64", "--store", ref}

	log := killDuring(t, t.TempDir(), builderEnv(t), "store: pushed", args...)
	if !strings.Contains(log, "vm") || !strings.Contains(log, "building") {
		t.Fatalf("builder 1 was killed before building the vm stage:\n%s", log)
	}

	var dists []string
	for i, wantAllHits := range []bool{false, true} {
		work := t.TempDir()
		rep := parseReport(t, mustRun(t, work, builderEnv(t), append(args, "--json")...).stdout)
		if len(rep.Stages) < 3 {
			t.Fatalf("builder %d: only %d stages reported", i+2, len(rep.Stages))
		}
		hits := 0
		for _, s := range rep.Stages {
			if s.Hit {
				hits++
			}
			switch {
			case s.Name == "vm" && !s.Hit:
				t.Errorf("builder %d: vm was rebuilt, not pulled from the registry", i+2)
			case wantAllHits && !s.Hit:
				t.Errorf("builder %d: stage %s did work; every stage was in the registry", i+2, s.Name)
			}
		}
		if !wantAllHits && hits == len(rep.Stages) {
			t.Errorf("builder 2: every stage was a hit, but builder 1 was killed after the vm stage")
		}
		t.Logf("builder %d: %d of %d stages were store hits", i+2, hits, len(rep.Stages))
		dists = append(dists, filepath.Join(work, "dist"))
	}

	entries, err := os.ReadDir(dists[0])
	if err != nil || len(entries) == 0 {
		t.Fatalf("builder 2 wrote no dist/: %v", err)
	}
	for _, e := range entries {
		a, errA := os.ReadFile(filepath.Join(dists[0], e.Name()))
		b, errB := os.ReadFile(filepath.Join(dists[1], e.Name()))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("dist/%s differs between builders (%v, %v)", e.Name(), errA, errB)
		}
	}
}

// TestStoreOCIReleaseHandoff splits a release of two targets over two
// builder processes with their own HOME and cache, sharing only a registry
// on 127.0.0.1; a third process merges and publishes, and the published
// directory is byte-identical to a single-process release of the same
// matrix.
func TestStoreOCIReleaseHandoff(t *testing.T) {
	ref := "oci://" + startRegistry(t) + "/pypyctl/store"
	rel := []string{"release", "--release", "pypy3.9-v7.3.11"}
	mustRun(t, t.TempDir(), builderEnv(t), append(rel, "--targets", "linux-amd64", "--store", ref, "--json")...)
	mustRun(t, t.TempDir(), builderEnv(t), append(rel, "--targets", "linux-arm64", "--no-smoke", "--store", ref, "--json")...)

	work := t.TempDir()
	rep := parseRelease(t, mustRun(t, work, builderEnv(t), append(rel, "--from-store", ref, "--to", "split", "--base-url", releaseBaseURL, "--json")...).stdout)
	if len(rep.Targets) != 2 || !rep.Targets[0].RecordHit || !rep.Targets[1].RecordHit {
		t.Fatalf("merge did not find both builders' records in the registry: %+v", rep.Targets)
	}
	dir := filepath.Join(work, "split", "pypy3.9-v7.3.11")
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	archive := "pypy3.9-v7.3.11-linux64.tar.bz2"
	data, err := os.ReadFile(filepath.Join(dir, archive))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + archive; !strings.Contains(string(sums), want) {
		t.Errorf("SHA256SUMS does not list %q:\n%s", want, sums)
	}
	// The same release from one process (its own local store).
	mustRun(t, work, env(t), append(rel, "--targets", "linux-amd64,linux-arm64", "--no-smoke", "--to", "single", "--base-url", releaseBaseURL)...)
	sameTrees(t, filepath.Join(work, "single"), filepath.Join(work, "split"))
}
