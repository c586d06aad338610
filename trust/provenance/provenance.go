// Package provenance writes and reads pypyctl's build provenance: an
// in-toto Statement v1 whose predicate is SLSA provenance v1, naming every
// artifact of a build as a subject, wrapped in a signed DSSE envelope and
// stored as one JSON line in <name>.intoto.jsonl.
package provenance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Fixed identifiers of the statement.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names pypyctl's build process; docs/trust.md describes
	// its parameters under "Build type v1".
	BuildType = "https://github.com/pypyctl/pypyctl/blob/main/docs/trust.md#build-type-v1"
	// DefaultBuilderID names a builder that does not say who it is.
	DefaultBuilderID = "https://github.com/pypyctl/pypyctl#local"
	// Suffix is the provenance file's suffix: <name>.intoto.jsonl.
	Suffix = ".intoto.jsonl"
)

// Statement is an in-toto Statement v1 with an SLSA provenance v1
// predicate. Field order here is the order in the JSON.
type Statement struct {
	Type          string     `json:"_type"`
	Subject       []Subject  `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     Provenance `json:"predicate"`
}

// Subject is one artifact the build produced.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SHA256 returns the subject's hex sha256 ("" when absent).
func (s Subject) SHA256() string { return s.Digest["sha256"] }

// Provenance is the SLSA provenance v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   map[string]string    `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ExternalParameters are the inputs a user chose: the matrix entry.
type ExternalParameters struct {
	Release      string `json:"release"`
	Target       string `json:"target"`
	MatrixDigest string `json:"matrixDigest,omitempty"` // sha256:<hex> of the matrix file
	Matrix       string `json:"matrix,omitempty"`       // where it was read from
}

// ResourceDescriptor is an input pinned by digest (a .deb, an upstream
// archive, the source).
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

// RunDetails says who built it, when and with what.
type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

// Builder identifies the build platform and pypyctl's own version.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// Metadata of the run. Times come from SOURCE_DATE_EPOCH, never the
// clock, and are left out without one.
type Metadata struct {
	InvocationID string `json:"invocationId"`
	StartedOn    string `json:"startedOn,omitempty"`
	FinishedOn   string `json:"finishedOn,omitempty"`
}

// Artifact is a built file, named as it is published.
type Artifact struct {
	Name   string
	SHA256 string
}

// Dependency is a resolved input.
type Dependency struct {
	Name   string
	URI    string
	SHA256 string
}

// Options describe one build.
type Options struct {
	Release         string // e.g. pypy3.11-v7.3.20
	Target          string // e.g. linux-amd64
	Matrix          string // where the matrix came from (a path or "<embedded>")
	MatrixSHA256    string // hex sha256 of the matrix bytes
	Artifacts       []Artifact
	Dependencies    []Dependency
	Internal        map[string]string // builder-chosen settings (e.g. the VM importer)
	BuilderID       string            // "" = DefaultBuilderID
	PypyctlVersion  string
	SourceDateEpoch *int64 // nil: no timestamps
}

// New builds a statement. Subjects and dependencies are sorted by name so
// equal builds give equal bytes, and the invocation id is a digest of the
// statement's other contents, so it is stable too.
func New(o Options) (*Statement, error) {
	if o.Release == "" || o.Target == "" {
		return nil, errors.New("provenance: release and target are required")
	}
	if len(o.Artifacts) == 0 {
		return nil, errors.New("provenance: no artifacts to name as subjects")
	}
	st := &Statement{Type: StatementType, PredicateType: PredicateType}
	seen := map[string]bool{}
	for _, a := range o.Artifacts {
		if err := checkHex(a.SHA256); err != nil {
			return nil, fmt.Errorf("provenance: artifact %s: %w", a.Name, err)
		}
		if a.Name == "" || seen[a.Name] {
			return nil, fmt.Errorf("provenance: artifact name %q is empty or repeated", a.Name)
		}
		seen[a.Name] = true
		st.Subject = append(st.Subject, Subject{Name: a.Name, Digest: map[string]string{"sha256": strings.ToLower(a.SHA256)}})
	}
	sort.Slice(st.Subject, func(i, j int) bool { return st.Subject[i].Name < st.Subject[j].Name })

	bd := &st.Predicate.BuildDefinition
	bd.BuildType = BuildType
	bd.ExternalParameters = ExternalParameters{Release: o.Release, Target: o.Target, Matrix: o.Matrix}
	if o.MatrixSHA256 != "" {
		if err := checkHex(o.MatrixSHA256); err != nil {
			return nil, fmt.Errorf("provenance: matrix digest: %w", err)
		}
		bd.ExternalParameters.MatrixDigest = "sha256:" + strings.ToLower(o.MatrixSHA256)
	}
	if len(o.Internal) > 0 {
		bd.InternalParameters = o.Internal
	}
	for _, d := range o.Dependencies {
		digest, err := dependencyDigest(d.SHA256)
		if err != nil {
			return nil, fmt.Errorf("provenance: dependency %s: %w", d.Name, err)
		}
		bd.ResolvedDependencies = append(bd.ResolvedDependencies, ResourceDescriptor{Name: d.Name, URI: d.URI, Digest: digest})
	}
	sort.SliceStable(bd.ResolvedDependencies, func(i, j int) bool {
		a, b := bd.ResolvedDependencies[i], bd.ResolvedDependencies[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.URI < b.URI
	})

	rd := &st.Predicate.RunDetails
	rd.Builder.ID = o.BuilderID
	if rd.Builder.ID == "" {
		rd.Builder.ID = DefaultBuilderID
	}
	if o.PypyctlVersion != "" {
		rd.Builder.Version = map[string]string{"pypyctl": o.PypyctlVersion}
	}
	if o.SourceDateEpoch != nil {
		t := time.Unix(*o.SourceDateEpoch, 0).UTC().Format(time.RFC3339)
		rd.Metadata.StartedOn, rd.Metadata.FinishedOn = t, t
	}
	// The id hashes everything else, so it changes exactly when the
	// build's description does.
	body, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	sum := sha256.Sum256(body)
	rd.Metadata.InvocationID = "urn:pypyctl:invocation:sha256:" + hex.EncodeToString(sum[:])
	return st, nil
}

// Marshal encodes the statement as compact JSON (struct order, sorted map
// keys: deterministic).
func (s *Statement) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode statement: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Find returns the subject named name.
func (s *Statement) Find(name string) (Subject, bool) {
	for _, sub := range s.Subject {
		if sub.Name == name {
			return sub, true
		}
	}
	return Subject{}, false
}

// GitTreePrefix marks a dependency named by its git tree id (a source
// checkout translated from a pinned commit) rather than a sha256.
const GitTreePrefix = "git-tree:"

// dependencyDigest is a dependency's in-toto digest: sha256 (bare or
// "sha256:"), gitTree for a git tree id (one of the algorithms in-toto
// names), or for a checkout without git ("files-sha256:", the translator's
// digest of its file list) that digest under its own name.
func dependencyDigest(s string) (map[string]string, error) {
	if h, ok := strings.CutPrefix(s, "files-sha256:"); ok {
		if err := checkHex(h); err != nil {
			return nil, err
		}
		return map[string]string{"pypyctlFilesSha256": strings.ToLower(h)}, nil
	}
	s = strings.TrimPrefix(s, "sha256:")
	if tree, ok := strings.CutPrefix(s, GitTreePrefix); ok {
		if _, err := hex.DecodeString(tree); err != nil || (len(tree) != 40 && len(tree) != 64) {
			return nil, fmt.Errorf("git tree %q is not 40 or 64 hex digits", tree)
		}
		return map[string]string{"gitTree": strings.ToLower(tree)}, nil
	}
	if err := checkHex(s); err != nil {
		return nil, err
	}
	return map[string]string{"sha256": strings.ToLower(s)}, nil
}

func checkHex(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("sha256 %q is not 64 hex digits", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return fmt.Errorf("sha256 %q is not hex", s)
	}
	return nil
}
