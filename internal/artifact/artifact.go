// Package artifact is the one typed list of files a build or a release
// writes: each file has a kind, the target it is for, its format, path and
// digest. Later steps (SHA256SUMS, signing, release metadata, records,
// publish) ask the list for "every archive" instead of comparing bare
// strings or re-deriving kinds from file names.
package artifact

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Kind says what a file is. The values are what reports, release records
// and publish's report have always written as "kind".
type Kind string

const (
	KindArchive      Kind = "archive"       // a release tree packed in one format
	KindDebugArchive Kind = "debug-archive" // the .debug files a strip stage kept aside
	KindSBOM         Kind = "sbom"          // CycloneDX (or SPDX) of a tree
	KindProvenance   Kind = "provenance"    // a signed in-toto statement
	KindChecksums    Kind = "checksums"     // SHA256SUMS
	KindSignature    Kind = "signature"     // .sig, .sigstore.json, … beside a file
	KindWheel        Kind = "wheel"         // a cffi wheel built with the release
	KindSource       Kind = "source"        // a release's -src archive
	KindOther        Kind = "other"         // a file publish does not know
)

// Suffixes of the sidecars named after the file or archive base they
// describe; the build names its attestations with them and publish tells
// them apart by them.
const (
	SBOMSuffix       = ".cdx.json"
	ProvenanceSuffix = ".intoto.jsonl"
)

// sidecarSuffixes map a sidecar's suffix to its kind: pypyctl's own
// (.sig, .sigstore.json, .cdx.json, .intoto.jsonl) and those other signers
// and SBOM tools leave beside a file.
var sidecarSuffixes = []struct {
	suffix string
	kind   Kind
}{
	{".sig", KindSignature}, {".sigstore.json", KindSignature}, {".asc", KindSignature}, {".pem", KindSignature},
	{SBOMSuffix, KindSBOM}, {".spdx.json", KindSBOM},
	{ProvenanceSuffix, KindProvenance},
}

// SidecarKind is the kind of a file found beside an archive, by its name:
// a signature, an SBOM, a provenance, or KindOther.
func SidecarKind(name string) Kind {
	for _, s := range sidecarSuffixes {
		if strings.HasSuffix(name, s.suffix) {
			return s.kind
		}
	}
	return KindOther
}

// Artifact is one file in an output directory (or, path dropped, in a
// store record).
type Artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Kind   Kind   `json:"kind"`
	Format string `json:"format,omitempty"` // an archive's: tar.bz2, zip, …
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Target is the matrix target the file belongs to ("" for what a
	// whole directory shares: SHA256SUMS, wheels, -src archives). It is
	// not written: reports and records keep the JSON they always had,
	// and their readers know the target.
	Target string `json:"-"`
}

// Describe hashes a file written to an output directory as an Artifact.
func Describe(path string, kind Kind) (Artifact, error) {
	sum, size, err := fsutil.SHA256File(path)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Name: filepath.Base(path), Path: path, Kind: kind, Size: size, SHA256: sum}, nil
}

// List is the artifacts of a build or a release.
type List []Artifact

// OfKind is the artifacts of the given kinds, in order.
func (l List) OfKind(kinds ...Kind) List {
	return l.filter(func(a Artifact) bool { return slices.Contains(kinds, a.Kind) })
}

// Except is the artifacts of any other kind, in order.
func (l List) Except(kinds ...Kind) List {
	return l.filter(func(a Artifact) bool { return !slices.Contains(kinds, a.Kind) })
}

func (l List) filter(keep func(Artifact) bool) List {
	var out List
	for _, a := range l {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// Signable is what gets a signature beside it: everything but the
// provenance, which is a signed envelope already.
func (l List) Signable() List { return l.Except(KindProvenance) }

// Paths are the artifacts' paths, in order.
func (l List) Paths() []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.Path
	}
	return out
}

// Size is the artifacts' total size in bytes.
func (l List) Size() int64 {
	var n int64
	for _, a := range l {
		n += a.Size
	}
	return n
}

// SortByName orders the list by file name, as SHA256SUMS and reports list
// files; artifacts of one name keep their order.
func (l List) SortByName() {
	slices.SortStableFunc(l, func(a, b Artifact) int { return strings.Compare(a.Name, b.Name) })
}
