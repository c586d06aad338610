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

// TrustedKeyInfo describes a trusted key for `trust list`.
type TrustedKeyInfo struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// SHA256 is the digest of the key's DER bytes (the suffix of Name).
	SHA256 string `json:"sha256"`
}

// ListTrustedKeys describes the trusted keys, by name.
func ListTrustedKeys(l Layout) ([]TrustedKeyInfo, error) {
	keys, err := TrustedKeys(l)
	if err != nil {
		return nil, err
	}
	out := []TrustedKeyInfo{}
	for _, k := range keys {
		info := TrustedKeyInfo{Name: k.Name, Path: filepath.Join(l.TrustedKeys(), k.Name)}
		if block, _ := pem.Decode(k.PEM); block != nil {
			sum := sha256.Sum256(block.Bytes)
			info.SHA256 = hex.EncodeToString(sum[:])
		}
		out = append(out, info)
	}
	return out, nil
}

// RemoveTrustedKey removes one trusted key, named by its file name (with
// or without .pub) or a unique prefix of it or of its digest. When the
// last key goes, installs stop requiring signatures.
func RemoveTrustedKey(l Layout, name string) (TrustedKeyInfo, error) {
	all, err := ListTrustedKeys(l)
	if err != nil {
		return TrustedKeyInfo{}, err
	}
	var match []TrustedKeyInfo
	for _, k := range all {
		if k.Name == name || strings.TrimSuffix(k.Name, ".pub") == name {
			match = []TrustedKeyInfo{k}
			break
		}
		if name != "" && (strings.HasPrefix(k.Name, name) || strings.HasPrefix(k.SHA256, name)) {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		names := make([]string, 0, len(all))
		for _, k := range all {
			names = append(names, k.Name)
		}
		if len(names) == 0 {
			return TrustedKeyInfo{}, fmt.Errorf("no key named %q is trusted (no key is trusted at all)", name)
		}
		return TrustedKeyInfo{}, fmt.Errorf("no key named %q is trusted; trusted keys: %s", name, strings.Join(names, ", "))
	case 1:
	default:
		return TrustedKeyInfo{}, fmt.Errorf("%q matches %d trusted keys; name one exactly (see `pypyctl trust list`)", name, len(match))
	}
	if err := os.Remove(match[0].Path); err != nil {
		return TrustedKeyInfo{}, err
	}
	return match[0], nil
}
