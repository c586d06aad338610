package trust

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// SumsName is the checksum file of a release directory.
const SumsName = "SHA256SUMS"

// ParseSums reads `sha256sum` output ("<hex>  <name>" or "<hex> *<name>")
// into name → lower-case hex. A malformed line or a name listed twice is
// an error: a checksum file that does not parse must not be half-trusted.
func ParseSums(b []byte) (map[string]string, error) {
	out := map[string]string{}
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
