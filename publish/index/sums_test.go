package index

import (
	"strings"
	"testing"
)

func TestParseSums(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := []struct {
		in      string
		want    Sums
		wantErr bool
	}{
		{h + "  a.tar.bz2\n", Sums{"a.tar.bz2": h}, false},
		{h + " *b.zip\n\n", Sums{"b.zip": h}, false},
		{strings.ToUpper(h) + "  c\n", Sums{"c": h}, false},
		{h + " c\n", nil, true},
		{"xyz  c\n", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSums(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || (err == nil && len(got) != len(tt.want)) {
			t.Errorf("ParseSums(%q) = %v, %v", tt.in, got, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseSums(%q)[%s] = %s", tt.in, k, got[k])
			}
		}
	}
}
