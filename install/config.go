package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// DefaultIndex is the index installs read when neither --index,
// PYPYCTL_INDEX nor config.yaml names one: the project's published
// versions.json.
const DefaultIndex = "https://downloads.pypyctl.org/pypy/versions.json"

// IndexEnv is the environment variable that names the index.
const IndexEnv = "PYPYCTL_INDEX"

// Config is <config>/config.yaml.
type Config struct {
	// Index is the default index location (URL or path).
	Index string `yaml:"index"`
}

// ConfigFile is the path of config.yaml in a config dir.
func ConfigFile(configDir string) string { return filepath.Join(configDir, "config.yaml") }

// LoadConfig reads <configDir>/config.yaml; a missing file is an empty
// config. Unknown keys are errors, so a typo does not silently fall back
// to the default index.
func LoadConfig(configDir string) (Config, error) {
	var c Config
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
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// IndexLocation picks the index: the flag, then $PYPYCTL_INDEX, then
// config.yaml, then DefaultIndex. It also says where the choice came from.
func IndexLocation(flag string, getenv func(string) string, c Config) (loc, from string) {
	switch {
	case flag != "":
		return flag, "--index"
	case getenv != nil && getenv(IndexEnv) != "":
		return getenv(IndexEnv), "$" + IndexEnv
	case c.Index != "":
		return c.Index, "config.yaml"
	}
	return DefaultIndex, "default"
}
