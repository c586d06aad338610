package trust

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/trust/provenance"
)

// ProvenanceSuffix is the suffix of provenance files verify looks for
// beside each file.
const ProvenanceSuffix = provenance.Suffix

// Names of the checks, in the order Verify runs them. The first failing
// one is what Report.Err names.
const (
	CheckSumsSignature = "sums-signature" // SHA256SUMS's own .sig/.sigstore.json
	CheckSHA256        = "sha256"         // the file against SHA256SUMS
	CheckSignature     = "signature"      // FILE.sig
	CheckBundle        = "bundle"         // FILE.sigstore.json
	CheckProvenance    = "provenance"     // *.intoto.jsonl beside the file
)

// VerifyOptions say what to trust.
type VerifyOptions struct {
	Key *ecdsa.PublicKey
	// Sums is the SHA256SUMS to check every file against; "" means the
	// SHA256SUMS beside each file.
	Sums string
}

// Check is the outcome of one check on one file.
type Check struct {
	Name     string `json:"name"`
	Source   string `json:"source,omitempty"` // the file the check read
	OK       bool   `json:"ok"`
	Message  string `json:"message,omitempty"`
	Expected string `json:"expected,omitempty"` // digests, on a mismatch
	Actual   string `json:"actual,omitempty"`
}

// FileResult is what verify found for one file.
type FileResult struct {
	File    string  `json:"file"`
	SHA256  string  `json:"sha256,omitempty"`
	OK      bool    `json:"ok"`
	Skipped string  `json:"skipped,omitempty"` // why a sidecar was not verified on its own
	Checks  []Check `json:"checks"`
}

// Report is the outcome of Verify.
type Report struct {
	KeyID string       `json:"key_id"`
	OK    bool         `json:"ok"`
	Files []FileResult `json:"files"`
}

// VerifyError names a file and the first check that failed on it.
type VerifyError struct {
	File  string
	Check Check
}

func (e *VerifyError) Error() string { return e.File + ": " + e.Check.Message }

// Err returns nil when every file verified, else a *VerifyError for the
// first failing check of the first failing file.
func (r *Report) Err() error {
	for _, f := range r.Files {
		for _, c := range f.Checks {
			if !c.OK {
				return &VerifyError{File: f.File, Check: c}
			}
		}
	}
	return nil
}

// Verify checks each file: its sha256 against SHA256SUMS (whose own
// signature must verify), its signature and/or bundle beside it, and, when
// provenance files sit beside it, that a verified provenance names it with
// that digest. It returns an error only when it cannot run at all; failed
// checks are in the report (see Report.Err).
func Verify(ctx context.Context, files []string, o VerifyOptions) (*Report, error) {
	if o.Key == nil {
		return nil, errors.New("verify: no public key")
	}
	v, err := keys.NewVerifier(o.Key)
	if err != nil {
		return nil, err
	}
	id, err := keys.KeyID(o.Key)
	if err != nil {
		return nil, err
	}
	vr := &verifier{opts: o, v: v, keyID: id, sums: map[string]*sumsState{}, prov: map[string]*provState{}}
	rep := &Report{KeyID: id, OK: true}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fr := vr.file(ctx, f)
		for _, c := range fr.Checks {
			if !c.OK {
				fr.OK = false
			}
		}
		rep.OK = rep.OK && fr.OK
		rep.Files = append(rep.Files, fr)
	}
	return rep, nil
}

type verifier struct {
	opts  VerifyOptions
	v     signature.Verifier
	keyID string
	sums  map[string]*sumsState // by SHA256SUMS path
	prov  map[string]*provState // by directory
}

// sumsState is a SHA256SUMS read and checked once per run.
type sumsState struct {
	path    string
	entries map[string]string
	checks  []Check // its signature checks, or why it is unusable
}

type provState struct {
	files      []string
	statements []provStatement
	failures   []Check
}

type provStatement struct {
	file string
	st   *provenance.Statement
}

func (vr *verifier) file(ctx context.Context, path string) FileResult {
	fr := FileResult{File: path, OK: true}
	if IsSidecar(path) {
		fr.Skipped = "signature or provenance file: checked with the file it covers"
		return fr
	}
	sum, err := digestFile(ctx, path)
	if err != nil {
		fr.Checks = append(fr.Checks, Check{Name: CheckSHA256, Source: path, Message: fmt.Sprintf("cannot read: %v", err)})
		return fr
	}
	fr.SHA256 = hex.EncodeToString(sum)
	sumsPath := vr.opts.Sums
	if sumsPath == "" {
		sumsPath = filepath.Join(filepath.Dir(path), sums.Name)
	}
	if sameFile(path, sumsPath) {
		// SHA256SUMS itself: its signature is the whole check.
		fr.Checks = append(fr.Checks, vr.signatureChecks(path, sum)...)
		return fr
	}
	if vr.opts.Sums == "" && (exists(path+SigSuffix) || exists(path+BundleSuffix)) && !listedIn(sumsPath, filepath.Base(path)) {
		// No SHA256SUMS beside it that lists it, and none asked for: the
		// file's own signature is the check, as cosign verify-blob does
		// it (a release's signed versions.json beside its SHA256SUMS).
		fr.Checks = append(fr.Checks, vr.signatureChecks(path, sum)...)
		if pc, ok := vr.provenanceCheck(path, fr.SHA256); ok {
			fr.Checks = append(fr.Checks, pc...)
		}
		return fr
	}
	ss := vr.sumsFor(ctx, sumsPath)
	fr.Checks = append(fr.Checks, ss.checks...)
	fr.Checks = append(fr.Checks, ss.check(path, fr.SHA256))
	fr.Checks = append(fr.Checks, vr.signatureChecks(path, sum)...)
	if pc, ok := vr.provenanceCheck(path, fr.SHA256); ok {
		fr.Checks = append(fr.Checks, pc...)
	}
	return fr
}

func (vr *verifier) sumsFor(ctx context.Context, path string) *sumsState {
	if ss, ok := vr.sums[path]; ok {
		return ss
	}
	ss := &sumsState{path: path}
	vr.sums[path] = ss
	b, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("cannot read %s: %v", path, err)
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("%s is missing (pass --sums to use another)", path)
		}
		ss.checks = []Check{{Name: CheckSumsSignature, Source: path, Message: msg}}
		return ss
	}
	sum, err := digestFile(ctx, path)
	if err != nil {
		ss.checks = []Check{{Name: CheckSumsSignature, Source: path, Message: err.Error()}}
		return ss
	}
	// The signature first: an unsigned or altered SHA256SUMS proves
	// nothing, whatever it lists.
	for _, c := range vr.signatureChecks(path, sum) {
		c.Name = CheckSumsSignature
		ss.checks = append(ss.checks, c)
	}
	entries, err := sums.Parse(b)
	if err != nil {
		ss.checks = append(ss.checks, Check{Name: CheckSumsSignature, Source: path, Message: fmt.Sprintf("%s does not parse: %v", path, err)})
		return ss
	}
	ss.entries = entries
	return ss
}

// check compares a file's digest with its SHA256SUMS entry, found by the
// file's path relative to the SHA256SUMS directory (publish's top-level
// SHA256SUMS lists <release>/<file>) or by its base name.
func (ss *sumsState) check(path, actual string) Check {
	c := Check{Name: CheckSHA256, Source: ss.path}
	if ss.entries == nil {
		c.Message = fmt.Sprintf("no usable %s to check against", ss.path)
		return c
	}
	want, ok := "", false
	if rel, err := relPath(filepath.Dir(ss.path), path); err == nil {
		want, ok = ss.entries[rel]
	}
	if !ok {
		want, ok = ss.entries[filepath.Base(path)]
	}
	if !ok {
		c.Message = fmt.Sprintf("not listed in %s", ss.path)
		return c
	}
	c.Expected, c.Actual = want, actual
	if want != actual {
		c.Message = fmt.Sprintf("sha256 mismatch with %s: expected %s, actual %s", ss.path, want, actual)
		return c
	}
	c.OK = true
	return c
}

// signatureChecks verifies FILE.sig and FILE.sigstore.json, whichever
// exist; at least one must.
func (vr *verifier) signatureChecks(path string, digest []byte) []Check {
	var out []Check
	sigPath, bundlePath := path+SigSuffix, path+BundleSuffix
	if b, err := os.ReadFile(sigPath); err == nil {
		out = append(out, vr.checkSig(sigPath, b, digest))
	} else if !errors.Is(err, fs.ErrNotExist) {
		out = append(out, Check{Name: CheckSignature, Source: sigPath, Message: fmt.Sprintf("cannot read %s: %v", sigPath, err)})
	}
	if b, err := os.ReadFile(bundlePath); err == nil {
		out = append(out, vr.checkBundle(bundlePath, b, digest))
	} else if !errors.Is(err, fs.ErrNotExist) {
		out = append(out, Check{Name: CheckBundle, Source: bundlePath, Message: fmt.Sprintf("cannot read %s: %v", bundlePath, err)})
	}
	if len(out) == 0 {
		out = append(out, Check{Name: CheckSignature, Source: sigPath, Message: fmt.Sprintf("not signed: neither %s nor %s exists", filepath.Base(sigPath), filepath.Base(bundlePath))})
	}
	return out
}

func (vr *verifier) checkSig(sigPath string, b, digest []byte) Check {
	c := Check{Name: CheckSignature, Source: sigPath}
	sig, err := DecodeSig(b)
	if err != nil {
		c.Message = fmt.Sprintf("%s: %v", sigPath, err)
		return c
	}
	if err := keys.VerifyDigest(vr.v, digest, sig); err != nil {
		c.Message = fmt.Sprintf("%s: signature does not verify with key %s", sigPath, vr.keyID)
		return c
	}
	c.OK = true
	return c
}

func (vr *verifier) checkBundle(bundlePath string, b, digest []byte) Check {
	c := Check{Name: CheckBundle, Source: bundlePath}
	bd, err := ParseBundle(b)
	if err != nil {
		c.Message = fmt.Sprintf("%s: %v", bundlePath, err)
		return c
	}
	if !bytes.Equal(bd.Digest, digest) {
		c.Expected, c.Actual = hex.EncodeToString(bd.Digest), hex.EncodeToString(digest)
		c.Message = fmt.Sprintf("%s: bundle is for another file: its sha256 is %s, the file's is %s", bundlePath, c.Expected, c.Actual)
		return c
	}
	if bd.KeyHint != "" && bd.KeyHint != vr.keyID {
		c.Message = fmt.Sprintf("%s: bundle names key %s, not the given key %s", bundlePath, bd.KeyHint, vr.keyID)
		return c
	}
	if err := keys.VerifyDigest(vr.v, digest, bd.Signature); err != nil {
		c.Message = fmt.Sprintf("%s: signature does not verify with key %s", bundlePath, vr.keyID)
		return c
	}
	c.OK = true
	return c
}

// DecodeSig decodes a .sig file: base64 (canonical) of a DER signature,
// surrounding whitespace allowed.
func DecodeSig(b []byte) ([]byte, error) {
	sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(sig) == 0 {
		return nil, errors.New("empty signature")
	}
	return sig, nil
}

// provenanceCheck looks for the file among the subjects of the verified
// provenance beside it; ok is false when there is no provenance there.
func (vr *verifier) provenanceCheck(path, actual string) ([]Check, bool) {
	dir := filepath.Dir(path)
	ps, seen := vr.prov[dir]
	if !seen {
		ps = vr.loadProvenance(dir)
		vr.prov[dir] = ps
	}
	if len(ps.files) == 0 {
		return nil, false
	}
	if len(ps.failures) > 0 {
		return ps.failures, true
	}
	name := filepath.Base(path)
	for _, s := range ps.statements {
		sub, ok := s.st.Find(name)
		if !ok {
			continue
		}
		c := Check{Name: CheckProvenance, Source: s.file, Expected: sub.SHA256(), Actual: actual}
		if sub.SHA256() != actual {
			c.Message = fmt.Sprintf("%s names %s with sha256 %s, but the file's is %s", s.file, name, sub.SHA256(), actual)
			return []Check{c}, true
		}
		c.OK = true
		return []Check{c}, true
	}
	return []Check{{Name: CheckProvenance, Source: strings.Join(ps.files, ","), Message: fmt.Sprintf("not a subject of the provenance beside it (%s)", strings.Join(baseNames(ps.files), ", "))}}, true
}

func (vr *verifier) loadProvenance(dir string) *provState {
	ps := &provState{}
	matches, err := filepath.Glob(filepath.Join(dir, "*"+ProvenanceSuffix))
	if err != nil {
		ps.failures = append(ps.failures, Check{Name: CheckProvenance, Source: dir, Message: err.Error()})
		return ps
	}
	sort.Strings(matches)
	ps.files = matches
	for _, f := range matches {
		envs, err := provenance.ReadFile(f)
		if err != nil {
			ps.failures = append(ps.failures, Check{Name: CheckProvenance, Source: f, Message: err.Error()})
			continue
		}
		for i, env := range envs {
			st, err := provenance.Verify(env, vr.opts.Key)
			if err != nil {
				ps.failures = append(ps.failures, Check{Name: CheckProvenance, Source: f, Message: fmt.Sprintf("%s: envelope %d: %v", f, i+1, err)})
				continue
			}
			ps.statements = append(ps.statements, provStatement{file: f, st: st})
		}
	}
	return ps
}

func relPath(dir, path string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	r, err := filepath.Rel(ad, ap)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(r), nil
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// MatchKey verifies sig (the contents of a .sig file) over the file at
// path with each PEM public key in turn and returns the index of the first
// that verifies. It is what install's signature check needs.
func MatchKey(ctx context.Context, path string, sig []byte, pubPEMs [][]byte) (int, error) {
	raw, err := DecodeSig(sig)
	if err != nil {
		return -1, fmt.Errorf("signature: %w", err)
	}
	sum, err := digestFile(ctx, path)
	if err != nil {
		return -1, err
	}
	for i, p := range pubPEMs {
		pub, err := keys.ParsePublic(p)
		if err != nil {
			continue // a key of another kind cannot have made this signature
		}
		v, err := keys.NewVerifier(pub)
		if err != nil {
			continue
		}
		if keys.VerifyDigest(v, sum, raw) == nil {
			return i, nil
		}
	}
	return -1, errors.New("no trusted key verifies the signature")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// listedIn says whether a SHA256SUMS file exists and names name.
func listedIn(sumsPath, name string) bool {
	b, err := os.ReadFile(sumsPath)
	if err != nil {
		return false
	}
	entries, err := sums.Parse(b)
	if err != nil {
		return true // a broken SHA256SUMS is reported by the sums check
	}
	_, ok := entries[name]
	return ok
}
