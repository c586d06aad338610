package publish

import (
	"context"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("0123456789", 1000)
	os.MkdirAll(filepath.Join(dir, "rel"), 0o755)
	os.WriteFile(filepath.Join(dir, "rel", "a.tar.bz2"), []byte(content), 0o644)
	os.WriteFile(filepath.Join(dir, "versions.json"), []byte("[]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, lockName), nil, 0o644)
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "escape"))

	ctx, cancel := context.WithCancel(context.Background())
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, dir, "127.0.0.1:0", func(u string) { urlc <- u }) }()
	var base string
	select {
	case base = <-urlc:
	case err := <-done:
		t.Fatal(err)
	}

	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("rel/a.tar.bz2", nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != content || etag == "" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET = %d etag %q len %d", resp.StatusCode, etag, len(body))
	}
	tests := []struct {
		name, path string
		hdr        map[string]string
		status     int
		body       string
	}{
		{"range", "rel/a.tar.bz2", map[string]string{"Range": "bytes=9990-"}, 206, content[9990:]},
		{"if-range matching etag", "rel/a.tar.bz2", map[string]string{"Range": "bytes=5-9", "If-Range": etag}, 206, "56789"},
		{"if-range stale etag gives whole file", "rel/a.tar.bz2", map[string]string{"Range": "bytes=5-9", "If-Range": `"stale"`}, 200, content},
		{"if-none-match", "rel/a.tar.bz2", map[string]string{"If-None-Match": etag}, 304, ""},
		{"range past end", "rel/a.tar.bz2", map[string]string{"Range": "bytes=20000-"}, 416, "*"},
		{"json", "versions.json", nil, 200, "[]\n"},
		{"hidden lock file", lockName, nil, 404, "*"},
		{"dotdot", "../secret", nil, 404, "*"},
		{"symlink out of the root", "escape", nil, 404, "*"},
		{"missing", "nope", nil, 404, "*"},
		{"listing", "", nil, 200, "*rel/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			switch {
			case tt.body == "*":
			case strings.HasPrefix(tt.body, "*"):
				if !strings.Contains(body, tt.body[1:]) || strings.Contains(body, lockName) {
					t.Errorf("body = %q", body)
				}
			case body != tt.body:
				t.Errorf("body = %.40q…, want %.40q…", body, tt.body)
			}
		})
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop after cancel")
	}
}

func TestServeHostilePaths(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rel"), 0o755)
	os.WriteFile(filepath.Join(dir, "rel", "a.tar.gz"), []byte("x"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "rel", "fifo.tar.gz"), 0o644); err != nil {
		testtool.Missing(t, "mkfifo: %v", err)
	}
	h, err := NewHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tests := []struct {
		path     string
		status   int
		location string
	}{
		{"/rel/fifo.tar.gz", http.StatusNotFound, ""},
		{"/rel/.", http.StatusMovedPermanently, "/rel/"},
		{"/rel/a.tar.gz/..", http.StatusMovedPermanently, "/rel/"},
		{"/rel", http.StatusMovedPermanently, "/rel/"},
		{"/rel/", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			// Several requests: each must come back, none may hang.
			for range 3 {
				resp, err := client.Get(srv.URL + tt.path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
					t.Fatalf("GET %s = %d %q", tt.path, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
}
