package index

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/pypyctl/pypyctl/trust"
)

// Sums is a SHA256SUMS file: name → hex sha256.
type Sums map[string]string

// ParseSums reads `sha256sum` output with trust.ParseSums (the one parser
// that verify, publish and install share): a malformed line or a name
// listed twice is an error.
func ParseSums(r io.Reader) (Sums, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s, err := trust.ParseSums(b)
	if err != nil {
		return nil, fmt.Errorf("SHA256SUMS %w", err)
	}
	return s, nil
}

// ReadSums reads a SHA256SUMS file; a missing file gives empty sums.
func ReadSums(path string) (Sums, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return Sums{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ParseSums(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Bytes formats the sums as `sha256sum` does, sorted by name, so that
// `sha256sum -c` reads it and equal sums give equal bytes.
func (s Sums) Bytes() []byte {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", s[n], n)
	}
	return b.Bytes()
}
