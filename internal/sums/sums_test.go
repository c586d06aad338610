package sums

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		want     Sums
		wantErr  string
	}{
		{"text mode", h + "  a.tar.bz2\n", Sums{"a.tar.bz2": h}, ""},
		{"binary mode and a blank line", h + " *b.zip\n\n", Sums{"b.zip": h}, ""},
		{"upper case", strings.ToUpper(h) + "  c\n", Sums{"c": h}, ""},
		{"binary mode and upper case", strings.ToUpper(h) + " *b.zip\n\n", Sums{"b.zip": h}, ""},
		{"nested name", h + "  rel/a b.zip\n", Sums{"rel/a b.zip": h}, ""},
		{"short digest", "abcd  a\n", nil, "line 1"},
		{"not hex", "xyz  c\n", nil, "line 1"},
		{"one space", h + " a\n", nil, "line 1"},
		{"duplicate", h + "  a\n" + h + "  a\n", nil, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v", got)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestBytesRoundTrip(t *testing.T) {
	a, b := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	s := Sums{"z.zip": a, "a.tar.bz2": b}
	want := b + "  a.tar.bz2\n" + a + "  z.zip\n"
	if got := string(s.Bytes()); got != want {
		t.Fatalf("Bytes() = %q, want %q (sorted by name, two spaces)", got, want)
	}
	path := filepath.Join(t.TempDir(), Name)
	if err := os.WriteFile(path, s.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil || len(got) != 2 || got["z.zip"] != a || got["a.tar.bz2"] != b {
		t.Fatalf("ReadFile = %v, %v", got, err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	if s, err := ReadFile(filepath.Join(dir, "missing")); err != nil || len(s) != 0 {
		t.Fatalf("missing file: %v, %v; want empty sums", s, err)
	}
	bad := filepath.Join(dir, Name)
	os.WriteFile(bad, []byte("garbage\n"), 0o644)
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want the path and the line", err)
	}
}
