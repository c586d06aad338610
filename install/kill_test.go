package install

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/dirs"
)

// helper starts this test binary as an installing pypyctl in home.
func helper(t *testing.T, home, index, request string, extraEnv ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(),
		"PYPYCTL_TEST_HELPER=install", "PYPYCTL_TEST_HOME="+home,
		"PYPYCTL_TEST_INDEX="+index, "PYPYCTL_TEST_REQUEST="+request)
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out, &errb
}

func homeDirs(home string) dirs.Dirs {
	return dirs.Dirs{Data: filepath.Join(home, "data"), Cache: filepath.Join(home, "cache"), Config: filepath.Join(home, "config")}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bigRelease has a few MiB of incompressible bytes, so a slowed server
// takes a second or so to send it.
func bigRelease() fixtureRelease {
	r := rel311
	r.blob = make([]byte, 3<<20)
	rand.Read(r.blob)
	return r
}

func assertNoVersion(t *testing.T, d dirs.Dirs) {
	t.Helper()
	l := Layout{Data: d.Data}
	all, err := ListInstalled(l)
	if err != nil || len(all) != 0 {
		t.Fatalf("installed after kill: %v, %v", all, err)
	}
	recs, _ := os.ReadDir(l.Receipts())
	for _, r := range recs {
		// A receipt without its directory is allowed (it is ignored),
		// but nothing may claim the version is installed.
		if _, err := os.Stat(filepath.Join(l.Versions(), strings.TrimSuffix(r.Name(), ".json"))); err == nil {
			t.Errorf("version directory for receipt %s exists", r.Name())
		}
	}
}

func TestKillDuringDownload(t *testing.T) {
	r := bigRelease()
	dest := t.TempDir()
	srv := newServer(t, dest)
	publishFixtures(t, dest, srv.URL, r)
	srv.slow.Store(int64(20 * time.Millisecond))
	home := t.TempDir()
	d := homeDirs(home)
	part := filepath.Join(d.Downloads(), r.archiveName()+".part")

	cmd, _, _ := helper(t, home, srv.URL, "3.11")
	waitFor(t, "the download to start", func() bool {
		st, err := os.Stat(part)
		return err == nil && st.Size() >= 256<<10
	})
	cmd.Process.Kill() // SIGKILL: no cleanup runs
	cmd.Wait()
	assertNoVersion(t, d)
	st, err := os.Stat(part)
	if err != nil {
		t.Fatalf("partial download gone: %v", err)
	}

	srv.slow.Store(0)
	res, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusInstalled || srv.rangeRequests() < 1 {
		t.Fatalf("rerun: %s, range requests %d", mustJSON(res), srv.rangeRequests())
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Error(".part left after a complete download")
	}
	t.Logf("killed at %d bytes, resumed with a Range request", st.Size())
}

func TestKillDuringExtraction(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", bigRelease())
	home := t.TempDir()
	d := homeDirs(home)
	marker := filepath.Join(t.TempDir(), "extracting")

	cmd, _, stderr := helper(t, home, dest, "3.11", "PYPYCTL_TEST_STALL="+marker)
	waitFor(t, "extraction", func() bool { _, err := os.Stat(marker); return err == nil })
	cmd.Process.Kill()
	cmd.Wait()
	assertNoVersion(t, d)
	l := Layout{Data: d.Data}
	ents, _ := os.ReadDir(l.Versions())
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), tempPrefix) {
		t.Fatalf("versions/ after kill: %v (stderr %s)", ents, stderr)
	}
	unpacked, _ := os.ReadFile(marker)
	if _, err := os.Stat(filepath.Join(string(unpacked), "pypy3.11-v7.3.20-linux64", "lib", "blob")); err != nil {
		t.Fatalf("the kill did not happen with a tree unpacked in the temp dir: %v", err)
	}

	res, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: dest})
	if err != nil || res.Status != StatusInstalled {
		t.Fatalf("rerun: %v, %v", res, err)
	}
	ents, _ = os.ReadDir(l.Versions())
	if len(ents) != 1 || ents[0].Name() != "pypy3.11-v7.3.20-linux64" {
		t.Errorf("versions/ after rerun: %v (temp dir not cleaned?)", ents)
	}
	if !res.CacheHit {
		t.Error("rerun downloaded again though the verified archive was cached")
	}
}

func TestConcurrentInstalls(t *testing.T) {
	dest := t.TempDir()
	srv := newServer(t, dest)
	r := bigRelease()
	publishFixtures(t, dest, srv.URL, r)
	srv.slow.Store(int64(15 * time.Millisecond))
	home := t.TempDir()
	d := homeDirs(home)

	a, aOut, aErr := helper(t, home, srv.URL, "3.11")
	// a holds the lock once its download has started.
	waitFor(t, "the first install to download", func() bool {
		_, err := os.Stat(filepath.Join(d.Downloads(), r.archiveName()+".part"))
		return err == nil
	})
	b, bOut, bErr := helper(t, home, srv.URL, "3.11")
	if err := a.Wait(); err != nil {
		t.Fatalf("first install: %v\n%s", err, aErr)
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("second install: %v\n%s", err, bErr)
	}
	var ra, rb Result
	json.Unmarshal(aOut.Bytes(), &ra)
	json.Unmarshal(bOut.Bytes(), &rb)
	if ra.Status != StatusInstalled || rb.Status != StatusAlreadyInstalled || !rb.Waited || rb.Name != ra.Name {
		t.Fatalf("first %s\nsecond %s", aOut, bOut)
	}
	if !strings.Contains(bErr.String(), "waiting for another pypyctl install") {
		t.Errorf("second install did not say it waited: %q", bErr)
	}
	srv.mu.Lock()
	downloads := 0
	for _, req := range srv.requests {
		if strings.Contains(req, r.archiveName()) {
			downloads++
		}
	}
	srv.mu.Unlock()
	if downloads != 1 {
		t.Errorf("archive fetched %d times: %v", downloads, srv.requests)
	}
}
