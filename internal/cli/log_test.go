package cli

import (
	"bytes"
	"testing"
)

// The App's logger prints as Logf always did, honours -q, --json and -v,
// and clears the progress line first.
func TestLogger(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		quiet, json, verbose bool
		want                 string
	}{
		{name: "default", want: "packing deb=a.deb kib=12\nwarning: no formula\nerror: failed\nlogf 1\n"},
		{name: "verbose", verbose: true, want: "detail n=2\npacking deb=a.deb kib=12\nwarning: no formula\nerror: failed\nlogf 1\ndebugf 2\n"},
		{name: "quiet", quiet: true, verbose: true, want: "error: failed\n"},
		{name: "json", json: true, want: "error: failed\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := &App{Stderr: &stderr, Quiet: tt.quiet, JSON: tt.json, Verbose: tt.verbose}
			a.Logger = newLogger(a)
			a.Logger.Debug("detail", "n", 2)
			a.Logger.Info("packing", "deb", "a.deb", "kib", 12)
			a.Logger.Warn("no formula")
			a.Logger.Error("failed")
			a.Logf("logf %d", 1)
			a.Debugf("debugf %d", 2)
			if got := stderr.String(); got != tt.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}

	var stderr bytes.Buffer
	a := &App{Stderr: &stderr}
	a.Logger = newLogger(a)
	p := &progress{w: &stderr, on: true}
	a.setBar(p)
	p.update("download", 50, 100)
	a.Logger.Info("downloading", "url", "https://example.org/x")
	if want := "\r\033[Kdownload  50% (50 B)\r\033[Kdownloading url=https://example.org/x\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
