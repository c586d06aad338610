package install

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Servers are untrusted: one that stalls, never answers or never stops
// sending must fail an install in bounded time and space.

const (
	// DefaultIdleTimeout bounds the wait for response headers and for
	// each further read of a body.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxDownload caps an archive whose index gives no size.
	// Upstream's largest archives are ~60 MB.
	DefaultMaxDownload int64 = 1 << 30
)

// defaultClient dials and handshakes with timeouts; waits for headers and
// body bytes are bounded per request by idleBody.
func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}}
}

// IdleError says a server sent nothing for too long.
type IdleError struct {
	URL  string
	Idle time.Duration
}

func (e *IdleError) Error() string {
	return fmt.Sprintf("%s: no data for %s", e.URL, e.Idle)
}

// SizeLimitError says a response was larger than allowed. It is
// permanent: retrying would fetch the same oversized answer.
type SizeLimitError struct {
	URL   string
	Limit int64
}

func (e *SizeLimitError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes; refusing the rest", e.URL, e.Limit)
}

// guardedGet sends a GET whose context is cancelled when idle passes
// without progress: first while waiting for headers, then between body
// reads. The returned body resets the timer on every read; close it.
func (f *fetcher) guardedGet(ctx context.Context, req *http.Request) (*http.Response, error) {
	idle := f.idle
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	ctx, cancel := context.WithCancel(ctx)
	var fired atomic.Bool
	timer := time.AfterFunc(idle, func() { fired.Store(true); cancel() })
	resp, err := f.client.Do(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		cancel()
		if fired.Load() {
			return nil, &IdleError{URL: req.URL.String(), Idle: idle}
		}
		return nil, err
	}
	timer.Reset(idle)
	resp.Body = &idleBody{rc: resp.Body, timer: timer, idle: idle, cancel: cancel, fired: &fired, url: req.URL.String()}
	return resp, nil
}

type idleBody struct {
	rc     io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	cancel context.CancelFunc
	fired  *atomic.Bool
	url    string
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF && b.fired.Load() {
		err = &IdleError{URL: b.url, Idle: b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	b.cancel()
	return b.rc.Close()
}

// limitedCopy copies at most limit bytes of r to w; more is an error.
func limitedCopy(w io.Writer, r io.Reader, limit int64, url string) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		return limit, &SizeLimitError{URL: url, Limit: limit}
	}
	return n, err
}

// isPermanent: errors another attempt cannot fix, so they are not
// retried — an oversized answer; a server whose certificate does not
// verify; an unknown host; a redirect loop; a request refused by
// --offline.
func isPermanent(err error) bool {
	if err == nil {
		return false
	}
	var sl *SizeLimitError
	var off *OfflineError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &sl) || errors.As(err, &off) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	var ue *url.Error
	// net/http reports redirect loops only as text.
	return errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "stopped after 10 redirects")
}
