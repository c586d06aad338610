package trust

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// Suffixes of the files signing writes beside an artifact.
const (
	SigSuffix    = ".sig"
	BundleSuffix = ".sigstore.json"
)

// Signed says what SignFile wrote for one artifact.
type Signed struct {
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Signature string `json:"signature"` // FILE.sig
	Bundle    string `json:"bundle"`    // FILE.sigstore.json
	KeyID     string `json:"key_id"`
}

// SignFile signs path as `cosign sign-blob` does and writes FILE.sig
// (base64 of the DER signature over the file's SHA-256, no newline) and
// FILE.sigstore.json beside it. The artifact itself is only read.
func SignFile(ctx context.Context, s *keys.Signer, path string) (Signed, error) {
	sum, err := digestFile(ctx, path)
	if err != nil {
		return Signed{}, err
	}
	sig, err := s.SignDigest(sum)
	if err != nil {
		return Signed{}, fmt.Errorf("sign %s: %w", path, err)
	}
	bundle, err := MarshalBundle(sum, sig, s.KeyID())
	if err != nil {
		return Signed{}, fmt.Errorf("sign %s: %w", path, err)
	}
	out := Signed{
		File:      path,
		SHA256:    hex.EncodeToString(sum),
		Signature: path + SigSuffix,
		Bundle:    path + BundleSuffix,
		KeyID:     s.KeyID(),
	}
	if err := fsutil.WriteFileAtomic(out.Signature, []byte(base64.StdEncoding.EncodeToString(sig)), 0o644); err != nil {
		return Signed{}, err
	}
	if err := fsutil.WriteFileAtomic(out.Bundle, bundle, 0o644); err != nil {
		return Signed{}, err
	}
	return out, nil
}

// SignFiles signs each path in order (SHA256SUMS included, so that one
// signature covers a whole release) and stops at the first error.
func SignFiles(ctx context.Context, s *keys.Signer, paths []string) ([]Signed, error) {
	out := make([]Signed, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, err := SignFile(ctx, s, p)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// IsSidecar reports whether name is a file signing or provenance writes
// beside artifacts rather than an artifact.
func IsSidecar(name string) bool {
	for _, s := range []string{SigSuffix, BundleSuffix, ProvenanceSuffix} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// digestFile streams a file through SHA-256, stopping when ctx is done.
func digestFile(ctx context.Context, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(ctxWriter{ctx, h}, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// ctxWriter fails writes once ctx is done, so hashing a large archive
// stops promptly on cancellation.
type ctxWriter struct {
	ctx context.Context
	h   hash.Hash
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.h.Write(p)
}
