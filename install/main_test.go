package install

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/publish/index"
)

// TestMain lets the test binary stand in for pypyctl in a child process
// (PYPYCTL_TEST_HELPER set): the kill -9 and concurrency tests need a
// real process to kill, the shim tests a `pypyctl which --shim`.
func TestMain(m *testing.M) {
	switch os.Getenv("PYPYCTL_TEST_HELPER") {
	case "":
		os.Exit(m.Run())
	case "which":
		os.Exit(helperWhich())
	case "install":
		os.Exit(helperInstall())
	default:
		fmt.Fprintln(os.Stderr, "unknown helper")
		os.Exit(2)
	}
}

func helperWhich() int {
	args := os.Args[1:]
	if len(args) != 3 || args[0] != "which" || args[1] != "--shim" {
		fmt.Fprintln(os.Stderr, "usage: which --shim NAME")
		return 2
	}
	cwd, _ := os.Getwd()
	exe, err := ShimTarget(Layout{Data: os.Getenv("PYPYCTL_TEST_DATA")}, os.Getenv("PYPYCTL_TEST_CONFIG"), cwd, args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pypyctl:", err)
		return 1
	}
	fmt.Println(exe)
	return 0
}

// helperInstall runs one install. PYPYCTL_TEST_STALL names a marker file:
// the extractor writes it once the archive is unpacked into the temp dir
// and then hangs, so the parent can kill the install mid-extraction.
func helperInstall() int {
	home := os.Getenv("PYPYCTL_TEST_HOME")
	d := dirs.Dirs{Data: filepath.Join(home, "data"), Cache: filepath.Join(home, "cache"), Config: filepath.Join(home, "config")}
	in := &Installer{
		Dirs: d, Host: index.Platform{Arch: "x64", Platform: "linux"}, Extractor: testExtractor(),
		Retries: 1, Backoff: time.Millisecond,
		Logger: logging.Func(func(s string) { fmt.Fprintln(os.Stderr, s) }),
	}
	if marker := os.Getenv("PYPYCTL_TEST_STALL"); marker != "" {
		inner := in.Extractor
		in.Extractor = ExtractFunc(func(ctx context.Context, a, dest string) error {
			if err := inner.Extract(ctx, a, dest); err != nil {
				return err
			}
			// Atomic, so the parent never reads a half-written marker.
			fsutil.WriteFileAtomic(marker, []byte(dest), 0o644)
			select {}
		})
	}
	r, err := ParseRequest(os.Getenv("PYPYCTL_TEST_REQUEST"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	res, err := in.Install(context.Background(), r, Options{Index: os.Getenv("PYPYCTL_TEST_INDEX")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pypyctl:", err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}
