package platforms

import (
	"strings"
	"testing"
)

func TestValidateWheels(t *testing.T) {
	tests := []struct {
		name, wheels string
		want         []string
	}{
		{"ok", "      - {name: sqlitever, path: wheels/testdata/sqlitever, targets: [linux-amd64], repair: true}\n", nil},
		{"problems", "      - {name: a, path: x, targets: [linux-s390x]}\n      - {name: a}\n", []string{
			`wheels[0]: target "linux-s390x" is not one of the release's (linux-amd64)`,
			`wheels[1]: path (a source dir or .tar.gz sdist) is required`,
			`wheels[1]: wheel "a" is listed twice`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// release3 without latest, which base's 3.11 release already claims.
			src := base + strings.Replace(release3, "    latest: true\n", "", 1) + "    wheels:\n" + tc.wheels
			_, probs := ValidateYAML("w.yaml", []byte(src))
			if len(probs) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(probs), len(tc.want), problemList(probs))
			}
			for i, w := range tc.want {
				if !strings.Contains(probs[i].Message, w) {
					t.Errorf("problem %d = %s, want …%s…", i, probs[i], w)
				}
			}
		})
	}
}
