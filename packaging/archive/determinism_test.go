package archive

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "PYPYCTL_ARCHIVE_HELPER_OUT"

// TestArchiveHelperProcess is not a test: TestBytesIdenticalAcrossProcesses
// re-runs the test binary on it to build a tree and write every format in
// a process with its own cwd, umask, TZ, locale, clock and worker count.
func TestArchiveHelperProcess(t *testing.T) {
	out := os.Getenv(helperEnv)
	if out == "" {
		// Safe skip: not a test but a child process; listed in testdata/expected-skips.txt.
		t.Skip("helper process for TestBytesIdenticalAcrossProcesses")
	}
	umask, err := strconv.ParseInt(os.Getenv("PYPYCTL_ARCHIVE_HELPER_UMASK"), 8, 32)
	must(t, err)
	syscall.Umask(int(umask))
	workers, err := strconv.Atoi(os.Getenv("PYPYCTL_ARCHIVE_HELPER_WORKERS"))
	must(t, err)
	src := makeTree(t, "", 1_200_000)
	// Files whose modes the umask decides, and mtimes from "now", which
	// differs between the runs.
	must(t, os.WriteFile(filepath.Join(src, "umask-file"), []byte("rw\n"), 0o666))
	must(t, os.WriteFile(filepath.Join(src, "umask-exec"), []byte("rwx\n"), 0o777))
	must(t, os.MkdirAll(filepath.Join(src, "umask-dir/sub"), 0o777))
	now := time.Now()
	must(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, now, now.Add(time.Duration(len(p))*time.Hour))
	}))
	for _, f := range AllFormats() {
		must(t, WriteFile(context.Background(), filepath.Join(out, "pypy"+f.Ext()), src, "pypy", f,
			Options{SourceDateEpoch: testEpoch, Workers: workers}))
	}
}

func TestBytesIdenticalAcrossProcesses(t *testing.T) {
	runs := []struct {
		cwd, tz, lang, umask, workers, procs string
	}{
		{"/", "UTC", "C", "022", "1", "1"},
		{t.TempDir(), "America/St_Johns", "C.UTF-8", "077", "3", "2"},
	}
	var outs []string
	for _, r := range runs {
		out := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestArchiveHelperProcess$", "-test.count=1")
		cmd.Dir = r.cwd
		cmd.Env = append(os.Environ(), helperEnv+"="+out, "TZ="+r.tz, "LC_ALL="+r.lang, "LANG="+r.lang,
			"PYPYCTL_ARCHIVE_HELPER_UMASK="+r.umask, "PYPYCTL_ARCHIVE_HELPER_WORKERS="+r.workers, "GOMAXPROCS="+r.procs)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helper process: %v\n%s", err, b)
		}
		outs = append(outs, out)
		time.Sleep(1100 * time.Millisecond) // a different clock second
	}
	for _, f := range AllFormats() {
		a, err := os.ReadFile(filepath.Join(outs[0], "pypy"+f.Ext()))
		must(t, err)
		b, err := os.ReadFile(filepath.Join(outs[1], "pypy"+f.Ext()))
		must(t, err)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: runs differ (%d bytes %s vs %d bytes %s)", f, len(a), sha(a)[:12], len(b), sha(b)[:12])
		}
	}
}
