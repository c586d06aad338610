package index

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Sums is a SHA256SUMS file: name → hex sha256.
type Sums map[string]string

// ParseSums reads `sha256sum` output ("<hex>  <name>", or "<hex> *<name>"
// in binary mode). Malformed lines are errors: a checksum file that does
// not parse must not be half-trusted.
func ParseSums(r io.Reader) (Sums, error) {
	s := Sums{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if strings.TrimSpace(t) == "" {
			continue
		}
		sum, name, ok := strings.Cut(t, " ")
		if ok && (strings.HasPrefix(name, " ") || strings.HasPrefix(name, "*")) {
			name = name[1:]
		} else {
			ok = false
		}
		if !ok || len(sum) != 64 || !isHex(sum) || name == "" {
			return nil, fmt.Errorf("SHA256SUMS line %d: not `<sha256>  <name>`: %q", line, t)
		}
		s[name] = strings.ToLower(sum)
	}
	return s, sc.Err()
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

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
