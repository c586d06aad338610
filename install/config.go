package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// IndexEnv is the environment variable that names the index.
const IndexEnv = "PYPYCTL_INDEX"

// Config is <config>/config.yaml.
type Config struct {
	// Index is a pypyctl index (URL or path) searched before upstream.
	Index string `yaml:"index"`
	// Indexes are more indexes, searched after Index.
	Indexes []string `yaml:"indexes"`
	// Mirror replaces where upstream archives are downloaded from.
	Mirror string `yaml:"mirror"`
	// Catalogue replaces the built-in upstream catalogue (same format).
	Catalogue string `yaml:"catalogue"`
	// Upstream false searches only the indexes.
	Upstream *bool `yaml:"upstream"`

	// dir is the config dir: relative paths in the file are relative to it.
	dir string
}

// path resolves a location written in config.yaml: a relative path is
// relative to the config dir, not to wherever pypyctl runs.
func (c Config) path(loc string) string {
	if loc == "" || c.dir == "" || strings.Contains(loc, "://") || filepath.IsAbs(loc) {
		return loc
	}
	return filepath.Join(c.dir, loc)
}

// configKeys are the keys config.yaml may hold, for error messages.
const configKeys = "index, indexes, mirror, catalogue, upstream"

// ConfigFile is the path of config.yaml in a config dir.
func ConfigFile(configDir string) string { return filepath.Join(configDir, "config.yaml") }

// LoadConfig reads <configDir>/config.yaml; a missing file is an empty
// config. Unknown keys are errors, so a typo does not silently fall back
// to the default index.
func LoadConfig(configDir string) (Config, error) {
	c := Config{dir: configDir}
	path := ConfigFile(configDir)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("%s: %s (known keys: %s)", path, yamlReason(err), configKeys)
	}
	return c, nil
}

var (
	unknownFieldRE = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)
	unmarshalRE    = regexp.MustCompile(`line (\d+): cannot unmarshal !!(\w+)(?: ` + "`" + `([^` + "`" + `]*)` + "`" + `)? into (\S+)`)
)

// yamlReason says what is wrong in config.yaml in the user's terms, not
// Go's ("field indx not found in type install.Config").
func yamlReason(err error) string {
	var out []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			switch m := unknownFieldRE.FindStringSubmatch(e); {
			case m != nil:
				out = append(out, fmt.Sprintf("line %s: unknown key %q", m[1], m[2]))
			default:
				if m := unmarshalRE.FindStringSubmatch(e); m != nil {
					want := map[string]string{"string": "a string", "[]string": "a list of strings", "*bool": "true or false", "bool": "true or false"}[m[4]]
					if want == "" {
						want = "another type"
					}
					found := map[string]string{"seq": "a list", "map": "a mapping", "str": "text", "int": "a number", "bool": "true/false"}[m[2]]
					if found == "" {
						found = m[2]
					}
					if m[3] != "" {
						found += fmt.Sprintf(" %q", m[3])
					}
					out = append(out, fmt.Sprintf("line %s: found %s where %s is expected", m[1], found, want))
				} else {
					out = append(out, e)
				}
			}
		}
		return strings.Join(out, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
