// Package sums owns the SHA256SUMS format, `sha256sum` output: the one
// parser (verify, publish, install, the Homebrew tap) and the one writer
// (publish). It imports nothing of the pipeline, so a reader of published
// outputs does not link the signing code to read a checksum file.
package sums

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
)

// Name is the checksum file of a release directory.
const Name = "SHA256SUMS"

// Sums is a SHA256SUMS file: name → lower-case hex sha256.
type Sums map[string]string

// Parse reads `sha256sum` output ("<hex>  <name>" or "<hex> *<name>";
// blank lines are skipped). A malformed line or a name listed twice is an
// error: a checksum file that does not parse must not be half-trusted.
func Parse(b []byte) (Sums, error) {
	out := Sums{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		if ok && len(name) > 1 && (name[0] == ' ' || name[0] == '*') {
			name = name[1:]
		} else {
			ok = false
		}
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 {
			return nil, fmt.Errorf("line %d: not `<sha256>  <name>`: %q", n, line)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d: %s is listed twice", n, name)
		}
		out[name] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadFile reads a SHA256SUMS file; a missing file gives empty sums.
func ReadFile(path string) (Sums, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Sums{}, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Bytes formats the sums as `sha256sum` does, sorted by name, so that
// `sha256sum -c` reads it and equal sums give equal bytes.
func (s Sums) Bytes() []byte {
	var b bytes.Buffer
	for _, n := range slices.Sorted(maps.Keys(s)) {
		fmt.Fprintf(&b, "%s  %s\n", s[n], n)
	}
	return b.Bytes()
}
