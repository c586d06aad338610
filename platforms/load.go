package platforms

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

//go:embed matrix.yaml
var embeddedMatrix []byte

// EmbeddedName is the Path of the matrix built into the binary.
const EmbeddedName = "<embedded>/platforms/matrix.yaml"

// EmbeddedYAML returns the bytes of the built-in matrix.
func EmbeddedYAML() []byte { return append([]byte(nil), embeddedMatrix...) }

// Embedded parses the built-in matrix.
func Embedded() (*Matrix, error) { return Parse(EmbeddedName, embeddedMatrix) }

// Load reads a matrix file; an empty path means the embedded matrix.
func Load(path string) (*Matrix, error) {
	if path == "" {
		return Embedded()
	}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readFile returns the bytes of a matrix file; an empty path means the
// embedded matrix.
func readFile(path string) ([]byte, error) {
	if path == "" {
		return EmbeddedYAML(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	defer f.Close()
	// Bounded: --matrix /dev/zero must fail, not exhaust memory.
	data, err := io.ReadAll(io.LimitReader(f, maxMatrixSize+1))
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	if len(data) > maxMatrixSize {
		return nil, fmt.Errorf("read matrix: %s is larger than %d bytes", path, maxMatrixSize)
	}
	return data, nil
}

// maxMatrixSize bounds a matrix file; the embedded one is a few KiB.
const maxMatrixSize = 16 << 20

// Parse decodes a matrix and applies target defaults. It fails on YAML
// syntax and type errors but does not check meaning; see Validate, or
// ValidateYAML to get every problem of a file with positions.
func Parse(name string, data []byte) (*Matrix, error) {
	doc, err := parseNode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m, err := decode(name, doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

var errEmpty = errors.New("the matrix is empty")

func parseNode(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errEmpty
	}
	// A second document would be silently ignored: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, err
		}
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, fmt.Errorf("yaml: line %d: a second YAML document; a matrix file holds exactly one", line)
	}
	return &doc, nil
}

// decode fills a Matrix from a document node and keeps the node for
// Validate's positions.
func decode(name string, doc *yaml.Node) (*Matrix, error) {
	m := &Matrix{Path: name, doc: doc}
	if err := doc.Decode(m); err != nil {
		return nil, err
	}
	// Re-decode each target on top of a copy of the defaults: yaml.v3 only
	// overwrites the keys a node has, which is exactly inheritance.
	root := doc.Content[0]
	if tn := mappingValue(root, "targets"); tn != nil && tn.Kind == yaml.SequenceNode {
		m.Targets = make([]Target, len(tn.Content))
		for i, n := range tn.Content {
			t := m.Defaults.Target
			t.Translation.RPythonOptions = slices.Clone(t.Translation.RPythonOptions)
			t.Translation.TargetOptions = slices.Clone(t.Translation.TargetOptions)
			if err := n.Decode(&t); err != nil {
				return nil, fmt.Errorf("%d:%d: %w", n.Line, n.Column, err)
			}
			m.Targets[i] = t
		}
	}
	return m, nil
}

// mappingValue returns the value of key in a mapping, following aliases
// and merge keys (<<), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mappingPair(n, key, 0)
	return v
}

// mappingPair returns the key and value nodes of key in a mapping. Keys of
// the mapping itself win over merged ones, as in yaml.v3's decoder.
func mappingPair(n *yaml.Node, key string, depth int) (*yaml.Node, *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key && !isMerge(k) {
			return k, n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMerge(n.Content[i]) {
			continue
		}
		for _, src := range mergeSources(n.Content[i+1]) {
			if k, v := mappingPair(src, key, depth+1); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// maxDepth bounds recursion through aliases and merges so a hostile file
// cannot exhaust the stack.
const maxDepth = 100

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// mergeSources lists the mappings a merge key's value names: one mapping
// or alias, or a sequence of them.
func mergeSources(v *yaml.Node) []*yaml.Node {
	v = deref(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, c := range v.Content {
			if c = deref(c); c != nil {
				out = append(out, c)
			}
		}
		return out
	}
	return []*yaml.Node{v}
}
