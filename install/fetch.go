package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// fetcher gets URLs (http, https, file) with retries; downloads resume
// from a .part file with Range requests.
type fetcher struct {
	client   *http.Client
	retries  int           // extra attempts after the first
	backoff  time.Duration // first wait; doubles per attempt
	progress func(done, total int64)
	log      *slog.Logger  // not nil
	idle     time.Duration // per-read and header wait; zero: DefaultIdleTimeout
	offline  bool          // refuse every network request (--offline)
}

// statusError is an HTTP answer other than success.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.url, e.status, http.StatusText(e.status))
}

// retryable: server errors and throttling, not client errors.
func (e *statusError) retryable() bool {
	return e.status >= 500 || e.status == http.StatusTooManyRequests || e.status == http.StatusRequestTimeout
}

// TruncatedError says a transfer ended before the announced size.
type TruncatedError struct {
	URL       string
	Got, Want int64
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("download of %s truncated: got %d of %d bytes", e.URL, e.Got, e.Want)
}

// NotFoundError says the server or file system has no such file.
type NotFoundError struct{ URL string }

func (e *NotFoundError) Error() string { return "not found: " + e.URL }

func isRetryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.retryable()
	}
	var nf *NotFoundError
	if errors.As(err, &nf) || isPermanent(err) {
		return false
	}
	// Truncations, resets and timeouts: the network, worth another try.
	return true
}

// retry runs op until it succeeds, fails for good or attempts run out,
// waiting backoff, 2×backoff, … between attempts.
func (f *fetcher) retry(ctx context.Context, what string, op func() error) error {
	wait := f.backoff
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if attempt >= f.retries || !isRetryable(ctx, err) {
			if attempt > 0 {
				return fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return err
		}
		// what ends with the URL; say it once.
		fields := strings.Fields(what)
		f.log.Info("retrying", "request", what, "reason", reason(err, fields[len(fields)-1]), "wait", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// readSmall fetches a small file (index, checksums, signature) whole.
func (f *fetcher) readSmall(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	if u.Scheme == "file" {
		return readLocal(fileURLPath(u), limit)
	}
	if f.offline {
		return nil, &OfflineError{URL: u.String()}
	}
	var data []byte
	err := f.retry(ctx, "GET "+u.String(), func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := f.guardedGet(ctx, req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			return &NotFoundError{URL: u.String()}
		}
		if resp.StatusCode != http.StatusOK {
			return &statusError{url: u.String(), status: resp.StatusCode}
		}
		if resp.ContentLength > limit {
			return &SizeLimitError{URL: u.String(), Limit: limit}
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return err
		}
		if int64(len(data)) > limit {
			return &SizeLimitError{URL: u.String(), Limit: limit}
		}
		if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
			return &TruncatedError{URL: u.String(), Got: int64(len(data)), Want: resp.ContentLength}
		}
		return nil
	})
	return data, err
}

// readLocal reads a local file of at most limit bytes: /dev/zero or a
// huge file given as --index must fail, not exhaust memory.
func readLocal(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, &NotFoundError{URL: path}
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, &SizeLimitError{URL: path, Limit: limit}
	}
	return b, nil
}

// download puts the file at u into dst, verified against wantSHA256. A
// dst that already has those bytes is a cache hit. Otherwise the bytes go
// to dst.part, which survives interruptions and is resumed with a Range
// request next time; only verified bytes are renamed to dst.
// At most limit bytes are accepted.
func (f *fetcher) download(ctx context.Context, u *url.URL, dst, wantSHA256 string, limit int64) (hit bool, size int64, err error) {
	if got, n, err := fsutil.SHA256File(dst); err == nil {
		if got == wantSHA256 {
			return true, n, nil
		}
		os.Remove(dst) // stale cache entry (another index, same name)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, 0, err
	}
	part := dst + ".part"
	var got string
	var n int64
	if u.Scheme == "file" {
		// A local copy is hashed as it is made: one read of the source.
		if got, n, err = copyLocal(ctx, fileURLPath(u), part, limit, f.progress); err != nil {
			os.Remove(part)
			return false, 0, err
		}
	} else if f.offline {
		return false, 0, &OfflineError{URL: u.String()}
	} else {
		err := f.retry(ctx, "download "+u.String(), func() error { return f.getRange(ctx, u, part, limit) })
		if err != nil {
			var sl *SizeLimitError
			if errors.As(err, &sl) {
				os.Remove(part) // over the cap: nothing worth resuming
			}
			return false, 0, err
		}
		// A resumed part holds bytes of earlier runs: hash all of it.
		if got, n, err = fsutil.SHA256File(part); err != nil {
			return false, 0, err
		}
	}
	if got != wantSHA256 {
		// Resumed bytes from a file that changed, or bad bytes: start
		// over next time.
		os.Remove(part)
		return false, 0, &fsutil.DigestMismatchError{Path: u.String(), Expected: wantSHA256, Actual: got}
	}
	if err := os.Rename(part, dst); err != nil {
		return false, 0, err
	}
	return false, n, nil
}

// getRange appends the rest of u to part.
func (f *fetcher) getRange(ctx context.Context, u *url.URL, part string, limit int64) error {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	// Uncompressed bytes are what the digest covers.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.guardedGet(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out *os.File
	total := resp.ContentLength
	switch resp.StatusCode {
	case http.StatusOK:
		out, err = os.OpenFile(part, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		have = 0
	case http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// Not the range we asked for: drop it and start over.
			os.Remove(part)
			return fmt.Errorf("GET %s: server answered range %q to bytes=%d-", u, resp.Header.Get("Content-Range"), have)
		}
		total = size
		out, err = os.OpenFile(part, os.O_WRONLY|os.O_APPEND, 0o644)
	case http.StatusRequestedRangeNotSatisfiable:
		// The part already holds every byte; the digest decides.
		return nil
	case http.StatusNotFound, http.StatusGone:
		return &NotFoundError{URL: u.String()}
	default:
		return &statusError{url: u.String(), status: resp.StatusCode}
	}
	if err != nil {
		return err
	}
	if total > limit {
		out.Close()
		return &SizeLimitError{URL: u.String(), Limit: limit}
	}
	n, copyErr := limitedCopy(out, &progressReader{r: resp.Body, done: have, total: total, fn: f.progress}, limit-have, u.String())
	if err := out.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	got := have + n
	var idle *IdleError
	if errors.As(copyErr, &idle) {
		return copyErr
	}
	if total >= 0 && got < total {
		return &TruncatedError{URL: u.String(), Got: got, Want: total}
	}
	if isPermanent(copyErr) {
		return copyErr
	}
	if copyErr != nil {
		return fmt.Errorf("download %s: %w", u, copyErr)
	}
	return nil
}

// parseContentRange reads "bytes START-END/SIZE".
func parseContentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	size, err2 := strconv.ParseInt(sz, 10, 64)
	if err2 != nil {
		size = -1
	}
	return start, size, err1 == nil
}

// copyLocal copies src to part and returns the copy's sha256 and size.
func copyLocal(ctx context.Context, src, part string, limit int64, progress func(done, total int64)) (string, int64, error) {
	// O_NONBLOCK and fstat: an index naming a FIFO or device as its
	// archive must fail at once, not block or stream forever.
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if os.IsNotExist(err) {
		return "", 0, &NotFoundError{URL: src}
	}
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s is not a regular file", src)
	}
	total := st.Size()
	out, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := limitedCopy(io.MultiWriter(out, h), &progressReader{r: ctxReader{ctx, in}, total: total, fn: progress}, limit, src)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("copy %s: %w", src, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.done, p.total)
	}
	return n, err
}

// fileURLPath is the local path of a file:// URL.
func fileURLPath(u *url.URL) string { return filepath.FromSlash(u.Path) }
