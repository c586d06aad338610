package install

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/publish/index"
)

// What a trusted key binds (docs/trust.md, "What a signature guarantees"):
//
//   - the archive's bytes: <archive>.sig, or the release's signed
//     SHA256SUMS, which must list the archive under the very name being
//     installed — preferred when SHA256SUMS.sig is there;
//   - its name: the top directory inside the signed bytes must be that
//     name (checkTopName), and the index entry's versions must match it;
//   - freshness of a signed index (versions.json.sig): per index URL,
//     pypyctl remembers the newest stable PyPy of each Python line it saw
//     signed, and refuses a signed index that lists an older newest one
//     (a replayed, rolled-back index) or an unsigned one where a signed
//     one was seen before.

// RollbackError refuses a signed index older than one seen before.
type RollbackError struct {
	Index, Python, Seen, Got string
}

func (e *RollbackError) Error() string {
	got := e.Got
	if got == "" {
		got = "none"
	}
	return fmt.Sprintf("index %s is older than one seen before: its newest stable PyPy for Python %s is %s, but %s was listed in a signed index; refusing a rollback (if releases were withdrawn on purpose, remove %s)",
		e.Index, e.Python, got, e.Seen, "index-state.json")
}

// indexState is <data>/index-state.json: per index URL, the newest stable
// PyPy version of each Python X.Y seen in a signature-verified index.
type indexState map[string]map[string]string

func (l Layout) indexStatePath() string { return filepath.Join(l.Data, "index-state.json") }

func readIndexState(l Layout) (indexState, error) {
	b, err := readLocal(l.indexStatePath(), 1<<20)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return indexState{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := indexState{}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", l.indexStatePath(), err)
	}
	return st, nil
}

// newestStable is the newest stable PyPy version per Python X.Y.
func newestStable(ix index.Index) map[string]string {
	out := map[string]string{}
	for _, v := range ix {
		if !v.Stable || v.IsNightly() || index.IsPrerelease(v.PyPyVersion) {
			continue
		}
		p, ok := index.VersionParts(v.PythonVersion)
		if !ok || len(p) < 2 {
			continue
		}
		line := strconv.Itoa(p[0]) + "." + strconv.Itoa(p[1])
		if cur, ok := out[line]; !ok || index.CompareVersions(v.PyPyVersion, cur) > 0 {
			out[line] = v.PyPyVersion
		}
	}
	return out
}

// checkSignedIndex verifies versions.json.sig when keys are trusted and
// applies the rollback rule above. save says whether to record what was
// seen (not on a dry run). It returns who signed the index, or "".
func (in *Installer) checkSignedIndex(ctx context.Context, f *fetcher, l Layout, li *loadedIndex, keys []TrustedKey, save bool) (string, error) {
	if len(keys) == 0 {
		return "", nil
	}
	st, err := readIndexState(l)
	if err != nil {
		return "", err
	}
	key := li.URL.String()
	sigURL := *li.URL
	sigURL.Path += ".sig"
	sigURL.RawPath = ""
	sig, err := f.readSmall(ctx, &sigURL, 1<<20)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		if _, seen := st[key]; seen {
			return "", fmt.Errorf("index %s was signed before, but %s is missing now", key, sigURL.String())
		}
		return "", nil // an unsigned index; each archive is still verified
	}
	if err != nil {
		return "", err
	}
	v := in.Verifier
	if v == nil {
		v = TrustVerifier{}
	}
	digest := sha256.Sum256(li.Raw)
	k, err := v.VerifyDigest(digest[:], sig, keys)
	if err != nil {
		return "", fmt.Errorf("index %s: %w", key, err)
	}
	now := newestStable(li.Index)
	seen := st[key]
	lines := make([]string, 0, len(seen))
	for line := range seen {
		lines = append(lines, line)
	}
	sort.Strings(lines)
	for _, line := range lines {
		if got, ok := now[line]; !ok || index.CompareVersions(got, seen[line]) < 0 {
			return "", &RollbackError{Index: key, Python: line, Seen: seen[line], Got: now[line]}
		}
	}
	if !save {
		return k.Name, nil
	}
	if seen == nil {
		seen = map[string]string{}
		st[key] = seen
	}
	for line, v := range now {
		seen[line] = v
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(l.Data, 0o755); err != nil {
		return "", err
	}
	if err := fsutil.WriteFileAtomic(l.indexStatePath(), append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return k.Name, nil
}

// verifyReleaseSums checks the release's SHA256SUMS against its signature
// and that it lists filename with sum. ok is false when the release has
// no SHA256SUMS.sig (the archive's own .sig is checked instead).
func (in *Installer) verifyReleaseSums(ctx context.Context, f *fetcher, u *url.URL, filename, sum string, keys []TrustedKey) (who string, ok bool, err error) {
	sumsURL := sumsURLFor(u)
	sigURL := *sumsURL
	sigURL.Path += ".sig"
	sig, err := f.readSmall(ctx, &sigURL, 1<<20)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	data, err := f.readSmall(ctx, sumsURL, maxIndexSize)
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", sumsURL, err)
	}
	v := in.Verifier
	if v == nil {
		v = TrustVerifier{}
	}
	digest := sha256.Sum256(data)
	k, err := v.VerifyDigest(digest[:], sig, keys)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", sigURL.String(), err)
	}
	listed, err := sums.Parse(data)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", sumsURL, err)
	}
	entry, found := listed[filename]
	if !found {
		return "", false, fmt.Errorf("the signed %s does not list %s", sumsURL, Quote(filename))
	}
	if l, err := NormalizeSHA256(entry); err != nil || l != sum {
		return "", false, fmt.Errorf("the signed %s lists %s with sha256 %s, the download has %s", sumsURL, filename, Quote(entry), sum)
	}
	return k.Name + " (signed SHA256SUMS)", true, nil
}
