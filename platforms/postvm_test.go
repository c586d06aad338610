package platforms

import (
	"strings"
	"testing"
)

func TestValidatePostVM(t *testing.T) {
	tests := []struct {
		name string
		post string
		want []string // substrings of the problems, in order; none: valid
	}{
		{"all stages", "{rebuild_cffi: true, cffi_without: [_ssl, _tkinter], portable: true, strip: true}", nil},
		{"only", "{rebuild_cffi: true, cffi_only: [sqlite3, lzma]}", nil},
		{"unknown module", "{rebuild_cffi: true, cffi_only: [sqlite]}", []string{`unknown cffi module "sqlite"`}},
		{"list without rebuild", "{portable: true, cffi_without: [_ssl]}", []string{"cffi_without without rebuild_cffi: true has no effect"}},
		{"only and without", "{rebuild_cffi: true, cffi_only: [lzma], cffi_without: [_ssl]}", []string{"give cffi_only or cffi_without, not both"}},
		{"unknown key", "{portabel: true}", []string{`unknown key "portabel"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(base, "      - {name: linux-amd64}\n", "      - {name: linux-amd64, post: "+tt.post+"}\n", 1)
			if src == base {
				t.Fatal("edit did not apply to base")
			}
			_, probs := ValidateYAML("post.yaml", []byte(src))
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d: %v", len(probs), len(tt.want), probs)
			}
			for i, w := range tt.want {
				if got := probs[i].String(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}
