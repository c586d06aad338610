package publish

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/pypyctl/pypyctl/internal/artifact"
)

// checkFileName refuses names that cannot be written safely into
// SHA256SUMS (one "<hex>  <name>" per line) or a URL path: control
// characters (a newline would inject a line), path separators, and
// leading dots (hidden files are not served).
func checkFileName(release, name string) error {
	bad := name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`)
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("release %s: file name %s cannot be published (control characters, separators or a leading dot)", release, strconv.Quote(name))
	}
	return nil
}

// publishableSidecar reports whether a file named after a release or one
// of its archives is a kind publish knows to be public: signatures,
// certificates, SBOMs and provenance. Anything else — a "-signing.key"
// above all — stays in DIST.
func publishableSidecar(name string) bool {
	if strings.HasSuffix(name, ".key") {
		return false
	}
	return artifact.SidecarKind(name) != artifact.KindOther
}
