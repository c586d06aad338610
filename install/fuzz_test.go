package install

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/publish/index"
)

// FuzzIndex feeds arbitrary bytes through what install does with an
// index before trusting it: parse, validate, resolve. Whatever passes
// validation must be safe to use as paths and to print.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(`[{"pypy_version":"7.3.20","python_version":"3.11.13","stable":true,"latest_pypy":true,"files":[{"filename":"pypy3.11-v7.3.20-linux64.tar.bz2","arch":"x64","platform":"linux","download_url":"https://h.invalid/pypy3.11-v7.3.20-linux64.tar.bz2","sha256":"1410DB3A7AE47603E2B7CBFD7FF6390B891B2E041C9EB4F1599F333677BCCB3E"}]}]`))
	f.Add([]byte(`[{"pypy_version":"nightly","python_version":"3.11","files":[{"filename":"pypy-c-jit-1-abcdef012345-linux64.tar.bz2","arch":"x64","platform":"linux","download_url":"pypy-c-jit-1-abcdef012345-linux64.tar.bz2"}]}]`))
	f.Add([]byte(`[{"pypy_version":"7.3.20","python_version":"3.11.13","files":[{"filename":"../../x.tar.gz","download_url":"file://otherhost/x"}]}] trailing`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := index.Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, local := range []bool{false, true} {
			ix := append(index.Index(nil), ix...)
			for i := range ix {
				ix[i].Files = append([]index.File(nil), ix[i].Files...)
			}
			if err := validateIndex(ix, local); err != nil {
				if strings.ContainsAny(err.Error(), "\n\r\x1b") {
					t.Fatalf("error prints raw control characters: %q", err.Error())
				}
				continue
			}
			dir := filepath.FromSlash("/cache/downloads")
			for _, v := range ix {
				for _, f := range v.Files {
					p := filepath.Join(dir, f.Filename)
					if filepath.Dir(p) != dir || filepath.Base(p) != f.Filename {
						t.Fatalf("valid file name %q leaves the cache: %s", f.Filename, p)
					}
					c := Candidate{Version: v, File: f}
					if n := c.Name(); n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\") {
						t.Fatalf("valid file %q installs as %q", f.Filename, n)
					}
					if f.SHA256 != "" && (len(f.SHA256) != 64 || strings.ToLower(f.SHA256) != f.SHA256) {
						t.Fatalf("sha256 %q not normalised", f.SHA256)
					}
				}
			}
			for _, r := range []string{"3.11", "latest", "nightly", "2.7@7.3.20"} {
				req, err := ParseRequest(r)
				if err != nil {
					t.Fatal(err)
				}
				Resolve(ix, req, index.Platform{Arch: "x64", Platform: "linux"})
			}
		}
	})
}

// FuzzVersionFile checks that any .python-version parses without panics
// and yields only requests that print on one line.
func FuzzVersionFile(f *testing.F) {
	f.Add([]byte("3.11\n"))
	f.Add([]byte("# comment\npypy3.9-7.3.11\ncpython@3.12\nsystem\n"))
	f.Add([]byte("\x1b[2J\n\n"))
	f.Add([]byte("pypy3.11-v7.3.20-linux64.tar.bz2\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, notes, err := parseVersionFile(".python-version", data)
		if err != nil {
			return
		}
		if len(reqs) == 0 && len(notes) == 0 {
			t.Fatal("no requests, no notes and no error")
		}
		for _, r := range reqs {
			if strings.ContainsAny(r.String(), "\n\r") {
				t.Fatalf("request %q prints over lines", r.String())
			}
		}
		for _, n := range notes {
			if hasControl(n) {
				t.Fatalf("note %q has control characters", n)
			}
		}
	})
}

// A skipped line with an invalid byte inside the part kept for the note
// (found by FuzzVersionFile): the byte is escaped, never turned into
// U+FFFD.
func TestNoteLineEscapesInvalidBytes(t *testing.T) {
	for _, line := range []string{strings.Repeat("0", 79) + "\xff" + strings.Repeat("1", 20), "3.12\xfe", strings.Repeat("é", 100)} {
		n := noteLine(line)
		if hasControl(n) {
			t.Errorf("noteLine(%q) = %q has control or replacement characters", line, n)
		}
	}
}
