// Package archivetest holds what the tests of internal/archive (the
// readers) and packaging/archive (the writers) both need: deterministic
// test data and running the reference tools (bzip2, xz, …).
package archivetest

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// NoiseText is compressible, deterministic pseudo-text with some runs.
func NoiseText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	words := []string{"pypy", "jit", "rpython", "import", "def ", "self", "\n", "    ", "return", "None", "0000", "ffff"}
	var b bytes.Buffer
	for b.Len() < n {
		if r.IntN(50) == 0 {
			b.Write(bytes.Repeat([]byte{byte(r.IntN(256))}, 1+r.IntN(300)))
			continue
		}
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(3) == 0 {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.Bytes()[:n]
}

// Must fails the test on an error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Run runs a command and returns its stdout, failing the test with its
// stderr on error.
func Run(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}
