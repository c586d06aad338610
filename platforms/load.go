package platforms

import (
	_ "embed"
	"fmt"
	"os"

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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read matrix: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a matrix and applies target defaults. It does not
// validate; see Validate.
func Parse(name string, data []byte) (*Matrix, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := &Matrix{Path: name}
	if err := doc.Decode(m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Re-decode each target on top of a copy of the defaults: yaml.v3 only
	// overwrites the keys a node has, which is exactly inheritance.
	root := doc.Content[0]
	if tn := mappingValue(root, "targets"); tn != nil && tn.Kind == yaml.SequenceNode {
		m.Targets = make([]Target, len(tn.Content))
		for i, n := range tn.Content {
			t := m.Defaults.Target
			t.Translation.RPythonOptions = append([]string(nil), t.Translation.RPythonOptions...)
			t.Translation.TargetOptions = append([]string(nil), t.Translation.TargetOptions...)
			if err := n.Decode(&t); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: %w", name, n.Line, n.Column, err)
			}
			m.Targets[i] = t
		}
	}
	return m, nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
