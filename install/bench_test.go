package install

import (
	"archive/tar"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkInstall compares install from a local index with the shell
// baseline `sha256sum -c && tar xf` of the same archive, per format.
func BenchmarkInstall(b *testing.B) {
	for _, format := range []string{"tar.gz", "tar.bz2"} {
		dest := b.TempDir()
		r := rel311
		r.format = format
		r.blob = nil
		publishBig(b, dest, r)
		archive := filepath.Join(dest, r.name, r.archiveName())
		st, _ := os.Stat(archive)
		b.Run(format+"/pypyctl", func(b *testing.B) {
			b.SetBytes(st.Size())
			for range b.N {
				b.StopTimer()
				d := testDirs(b)
				in := newTestInstaller(b, d)
				b.StartTimer()
				if _, err := in.Install(context.Background(), Request{Python: "3.11"}, Options{Index: dest}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(format+"/sha256sum+tar", func(b *testing.B) {
			b.SetBytes(st.Size())
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				b.StartTimer()
				cmd := exec.Command("sh", "-c", `grep " $1\$" SHA256SUMS | sha256sum -c --quiet - && mkdir -p "$2" && tar -C "$2" -xf "$1"`, "sh", r.archiveName(), dir)
				cmd.Dir = filepath.Dir(archive)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}

// BenchmarkInstallAlreadyInstalled is `install 3.11` when it is installed
// (target < 100 ms): read the local index, resolve, find the install.
func BenchmarkInstallAlreadyInstalled(b *testing.B) {
	dest := b.TempDir()
	publishFixtures(b, dest, "", rel311, rel39, rel27)
	d := testDirs(b)
	in := newTestInstaller(b, d)
	if _, err := in.Install(context.Background(), Request{Python: "3.11"}, Options{Index: dest}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		res, err := in.Install(context.Background(), Request{Python: "3.11"}, Options{Index: dest})
		if err != nil || res.Status != StatusAlreadyInstalled {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N)/1000, "ms/op")
}

// publishBig publishes r with a release-shaped tree (800 text files, ~10 MB).
func publishBig(b *testing.B, dest string, r fixtureRelease) {
	b.Helper()
	top := r.name + "-" + r.suffix
	es := fakeTree(top, r.python, nil)
	rnd := rand.New(rand.NewSource(1))
	words := make([]string, 4000)
	for i := range words {
		w := make([]byte, 2+rnd.Intn(10))
		for j := range w {
			w[j] = byte('a' + rnd.Intn(26))
		}
		words[i] = string(w)
	}
	for i := range 800 {
		var sb strings.Builder
		for range 500 + rnd.Intn(2500) {
			sb.WriteString(words[rnd.Intn(len(words))])
			sb.WriteByte(' ')
		}
		es = append(es, entry{name: fmt.Sprintf("%s/lib/pypy3.11/pkg%02d/mod%04d.py", top, i%40, i), typ: tar.TypeReg, mode: 0o644, body: sb.String()})
	}
	publishEntries(b, dest, "", r, es)
}
