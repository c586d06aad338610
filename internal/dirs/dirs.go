// Package dirs resolves where pypyctl keeps data, cache and config:
// XDG_DATA_HOME, XDG_CACHE_HOME and XDG_CONFIG_HOME (each with a pypyctl
// subdirectory), or everything under PYPYCTL_HOME when that is set.
package dirs

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dirs are the three roots pypyctl writes under.
type Dirs struct {
	Data   string // installed versions, shims, trusted keys
	Cache  string // downloads, the content-addressed store
	Config string // config.yaml
}

// Getenv is os.Getenv's shape, so tests pass their own environment.
type Getenv func(string) string

// Resolve computes the directories from an environment.
func Resolve(getenv Getenv) (Dirs, error) {
	if h := getenv("PYPYCTL_HOME"); h != "" {
		h, err := filepath.Abs(h)
		if err != nil {
			return Dirs{}, fmt.Errorf("PYPYCTL_HOME: %w", err)
		}
		return Dirs{Data: filepath.Join(h, "data"), Cache: filepath.Join(h, "cache"), Config: filepath.Join(h, "config")}, nil
	}
	home := getenv("HOME")
	pick := func(env, fallback string) (string, error) {
		if v := getenv(env); v != "" && filepath.IsAbs(v) {
			return filepath.Join(v, "pypyctl"), nil
		}
		if home == "" {
			return "", fmt.Errorf("neither %s nor HOME is set; set PYPYCTL_HOME", env)
		}
		return filepath.Join(home, fallback, "pypyctl"), nil
	}
	var d Dirs
	var err error
	if d.Data, err = pick("XDG_DATA_HOME", ".local/share"); err != nil {
		return d, err
	}
	if d.Cache, err = pick("XDG_CACHE_HOME", ".cache"); err != nil {
		return d, err
	}
	if d.Config, err = pick("XDG_CONFIG_HOME", ".config"); err != nil {
		return d, err
	}
	return d, nil
}

// FromEnv resolves the directories from the process environment.
func FromEnv() (Dirs, error) { return Resolve(os.Getenv) }

// Store is the content-addressed store's root.
func (d Dirs) Store() string { return filepath.Join(d.Cache, "store") }

// Downloads is where fetched inputs (debs, archives) are cached by name.
func (d Dirs) Downloads() string { return filepath.Join(d.Cache, "downloads") }
