package publish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/publish/index"
)

func TestWriteIndexDropsStaleSignatures(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, VersionsJSON)
	ix := index.Index{{PyPyVersion: "7.3.20", PythonVersion: "3.11.13"}}
	tests := []struct {
		name     string
		ix       index.Index
		wantWarn bool
	}{
		{"first write", ix, true},
		{"same bytes keep the signature", ix, false},
		{"changed bytes drop it", append(ix, index.Version{PyPyVersion: "7.3.19", PythonVersion: "3.11.11"}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(p+".sig", []byte("sig"), 0o644)
			warn, err := writeIndex(p, tt.ix)
			if err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(p + ".sig")
			if tt.wantWarn != (warn != "") || tt.wantWarn != os.IsNotExist(statErr) {
				t.Fatalf("warning %q, sig stat %v", warn, statErr)
			}
			if tt.wantWarn && !strings.Contains(warn, "re-sign") {
				t.Errorf("warning %q", warn)
			}
		})
	}
}
