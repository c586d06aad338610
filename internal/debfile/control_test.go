package debfile

import (
	"strings"
	"testing"
)

func TestParagraph(t *testing.T) {
	text := "Package: pypy3.9-v7.3.11\nVersion: 7.3.11-1\nDescription: short\n long line\n .\n  indented\nMD5Sum:\n abc 12 main/binary-amd64/Packages\n"
	tests := []struct {
		name  string
		input string
		n     int
		err   bool
	}{
		{"one", text, 1, false},
		{"two with comment", "# c\nA: 1\n\n\nB: 2\n", 2, false},
		{"continuation first", " x\nA: 1\n", 0, true},
		{"no colon", "A 1\n", 0, true},
	}
	for _, tt := range tests {
		ps, err := ParseParagraphs(strings.NewReader(tt.input))
		if (err != nil) != tt.err || len(ps) != tt.n {
			t.Errorf("%s: %d paragraphs, %v", tt.name, len(ps), err)
		}
	}
	ps, _ := ParseParagraphs(strings.NewReader(text))
	if got := ps[0].String(); got != text {
		t.Errorf("round trip:\n%s\nwant\n%s", got, text)
	}
	if d := ps[0].Get("description"); d != "short\nlong line\n.\n indented" {
		t.Errorf("Description = %q", d)
	}
	p := ps[0]
	p.Set("Version", "7.3.11-2")
	p.Delete("MD5Sum")
	p.Set("Depends", "libc6")
	if p.Get("Version") != "7.3.11-2" || p.Get("MD5Sum") != "" || p[len(p)-1].Name != "Depends" {
		t.Errorf("Set/Delete: %v", p)
	}
	bad := Paragraph{{"Bad Name", "x"}}
	if bad.Validate() == nil {
		t.Error("a field name with a space validated")
	}
	if (Paragraph{{"Description", "a\n\nb"}}).Validate() == nil {
		t.Error("an empty continuation line validated")
	}
}
