package debfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

func writeAr(t *testing.T, members map[string]string, order []string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewArWriter(&b, 1672272000)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range order {
		if err := w.Add(n, int64(len(members[n])), strings.NewReader(members[n])); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestArRoundTrip(t *testing.T) {
	members := map[string]string{"debian-binary": "2.0\n", "odd": "abc", "empty": ""}
	order := []string{"debian-binary", "odd", "empty"}
	b := writeAr(t, members, order)
	var got []string
	err := WalkAr(bytes.NewReader(b), func(m Member, body io.Reader) error {
		data, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		if string(data) != members[m.Name] || m.Size != int64(len(data)) || m.MTime != 1672272000 {
			t.Errorf("member %s: %q size %d mtime %d", m.Name, data, m.Size, m.MTime)
		}
		got = append(got, m.Name)
		return nil
	})
	if err != nil || strings.Join(got, ",") != strings.Join(order, ",") {
		t.Fatalf("members %v, err %v", got, err)
	}
	// binutils' ar, a second implementation, lists the same members.
	if testtool.Need(t, "ar") != nil {
		p := filepath.Join(t.TempDir(), "x.a")
		os.WriteFile(p, b, 0o644)
		out, err := exec.Command("ar", "t", p).Output()
		if err != nil || strings.Fields(string(out))[1] != "odd" {
			t.Fatalf("ar t: %q %v", out, err)
		}
	}
}

func TestArErrors(t *testing.T) {
	good := writeAr(t, map[string]string{"a": "xyz"}, []string{"a"})
	badTerm := append([]byte(nil), good...)
	badTerm[len(ArMagic)+58] = 'x'
	badSize := append([]byte(nil), good...)
	copy(badSize[len(ArMagic)+48:], "-5        ")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"not ar", []byte("PK\x03\x04 not an ar file at all"), "bad magic"},
		{"bad terminator", badTerm, "bad terminator"},
		{"negative size", badSize, "bad size"},
		{"truncated header", good[:len(ArMagic)+30], "ar header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WalkAr(bytes.NewReader(tt.in), func(Member, io.Reader) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	var w bytes.Buffer
	aw, _ := NewArWriter(&w, 0)
	if err := aw.Add("a/b", 0, strings.NewReader("")); err == nil {
		t.Error("a name with / was accepted")
	}
	if err := aw.Add("short", 10, strings.NewReader("abc")); err == nil {
		t.Error("a short body was accepted")
	}
}

func TestWalk(t *testing.T) {
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for _, n := range []string{"./usr/", "./usr/a", "./usr/b"} {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: 1}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		tw.WriteHeader(h)
		if h.Size == 1 {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	zw.Close()
	deb := writeAr(t, map[string]string{"debian-binary": "2.0\n", "data.tar.gz": tgz.String()}, []string{"debian-binary", "data.tar.gz"})
	p := filepath.Join(t.TempDir(), "p.deb")
	os.WriteFile(p, deb, 0o644)
	var names []string
	if err := Walk(p, "data", func(h *tar.Header, _ io.Reader) error {
		names = append(names, h.Name)
		if h.Name == "./usr/a" {
			return ErrStop
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "./usr/ ./usr/a" {
		t.Fatalf("walked %v, want to stop after ./usr/a", names)
	}
	if err := Walk(p, "control", func(*tar.Header, io.Reader) error { return nil }); err == nil || !strings.Contains(err.Error(), "no control.tar member") {
		t.Fatalf("missing member: %v", err)
	}
	sentinel := errors.New("boom")
	if err := Walk(p, "data", func(*tar.Header, io.Reader) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("callback error lost: %v", err)
	}
	if _, err := Decompress("data.tar.lz4", nil); err == nil {
		t.Fatal("unknown compression accepted")
	}
}

func TestOpen(t *testing.T) {
	tgz := func(files map[string]string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		tw := tar.NewWriter(zw)
		for _, n := range []string{"./control", "./md5sums", "./usr/a"} {
			if body, ok := files[n]; ok {
				tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(body))})
				tw.Write([]byte(body))
			}
		}
		tw.Close()
		zw.Close()
		return b.String()
	}
	control := "Package: p\nVersion: 1.0-1\nDescription: short\n long\n .\n end\n"
	good := map[string]string{"debian-binary": "2.0\n", "control.tar.gz": tgz(map[string]string{"./md5sums": "", "./control": control}), "data.tar.gz": tgz(map[string]string{"./usr/a": "x"})}
	write := func(members map[string]string, order ...string) string {
		p := filepath.Join(t.TempDir(), "p.deb")
		os.WriteFile(p, writeAr(t, members, order), 0o644)
		return p
	}
	d, err := Open(write(good, "debian-binary", "control.tar.gz", "data.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Paragraph.Get("Description") != "short\nlong\n.\nend" || d.Control["Description"] != "short\n long\n .\n end" || d.Control["Package"] != "p" || d.MTime != 1672272000 {
		t.Fatalf("Open: %#v", d)
	}
	two := map[string]string{"debian-binary": "2.0\n", "control.tar.gz": tgz(map[string]string{"./control": control + "\nPackage: q\n"})}
	noControl := map[string]string{"debian-binary": "2.0\n", "control.tar.gz": tgz(map[string]string{"./md5sums": ""})}
	tests := []struct {
		name, path, want string
	}{
		{"first member not debian-binary", write(good, "control.tar.gz", "debian-binary"), "not a Debian package"},
		{"no members", write(nil), "not a Debian package"},
		{"no control.tar", write(good, "debian-binary", "data.tar.gz"), "no control.tar member"},
		{"no ./control", write(noControl, "debian-binary", "control.tar.gz"), "no control file"},
		{"two paragraphs", write(two, "debian-binary", "control.tar.gz"), "2 paragraphs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
