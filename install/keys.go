package install

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// TrustedKeys reads the PEM public keys in <data>/trusted-keys. Once one
// is there, every install needs a signature that one of them verifies.
func TrustedKeys(l Layout) ([]TrustedKey, error) {
	ents, err := os.ReadDir(l.TrustedKeys())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []TrustedKey
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".pub") || strings.HasSuffix(n, ".pem")) {
			continue
		}
		// A key file that cannot be read is an error, never skipped: a
		// user who trusts a key must not install unverified by accident.
		// Symlinks (a key managed elsewhere) are followed.
		p := filepath.Join(l.TrustedKeys(), n)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %w", p, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("trusted key %s is not a regular file", p)
		}
		data, err := readLocal(p, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %w", p, err)
		}
		out = append(out, TrustedKey{Name: n, PEM: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddTrustedKey copies a PEM public key into <data>/trusted-keys, named
// after its digest so that adding the same key twice is a no-op. Only keys
// installs can verify with (ECDSA P-256) are accepted.
func AddTrustedKey(l Layout, pubPath string) (string, error) {
	data, err := os.ReadFile(pubPath)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return "", fmt.Errorf("%s is not a PEM public key (want a \"PUBLIC KEY\" block)", pubPath)
	}
	if err := checkPublicKey(data); err != nil {
		return "", fmt.Errorf("%s: %w", pubPath, err)
	}
	sum := sha256.Sum256(block.Bytes)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, strings.TrimSuffix(filepath.Base(pubPath), filepath.Ext(pubPath)))
	dst := filepath.Join(l.TrustedKeys(), fmt.Sprintf("%s-%s.pub", name, hex.EncodeToString(sum[:])[:12]))
	if err := fsutil.WriteFileAtomic(dst, pem.EncodeToMemory(block), 0o644); err != nil {
		return "", err
	}
	return dst, nil
}
