package install

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/logging"
)

// Failures another attempt cannot fix are reported at once.
func TestPermanentFailuresAreNotRetried(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path     string
		wantHits int32
		want     string
	}{
		{"/loop", 10, "redirects"},
		{"/forbidden", 1, "403 forbidden"},
		{"/busy", 2, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			hits.Store(0)
			var logs []string
			in := &Installer{Dirs: testDirs(t), Retries: 2, Backoff: time.Millisecond, Logger: logging.Func(func(s string) { logs = append(logs, s) })}
			_, err := in.Install(context.Background(), Request{Python: "3.11"}, Options{Index: srv.URL + tt.path})
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want SourceError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Count(msg, srv.URL) != 1 || !strings.Contains(msg, "--index") || !strings.Contains(msg, "pypyctl doctor") {
				t.Errorf("message %q", msg)
			}
			for _, l := range logs {
				if strings.Count(l, srv.URL) != 1 {
					t.Errorf("log line names the URL %d times: %s", strings.Count(l, srv.URL), l)
				}
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("%d requests, want %d", got, tt.wantHits)
			}
		})
	}
}
