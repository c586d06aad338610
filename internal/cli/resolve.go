package cli

import (
	"fmt"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// matrixRelease loads the matrix and looks up a release ("" = the
// matrix's default), the first step of every command that works on one
// release.
func (a *App) matrixRelease(release string) (*platforms.Matrix, *platforms.Release, error) {
	m, err := a.LoadMatrix()
	if err != nil {
		return nil, nil, err
	}
	r, err := m.Release(release)
	if err != nil {
		return nil, nil, err
	}
	return m, r, nil
}

// releaseTarget is matrixRelease and a target, the first step of every
// command that works on one (release, target).
func (a *App) releaseTarget(release, target string) (*platforms.Matrix, *platforms.Release, *platforms.Target, error) {
	m, r, err := a.matrixRelease(release)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := m.Target(target)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, r, t, nil
}

// loadSigner loads --key when --sign is given (nil otherwise), before any
// work, so a wrong path or password fails in a second, not after a build.
func (a *App) loadSigner(sign bool, key string) (*keys.Signer, error) {
	if !sign {
		return nil, nil
	}
	s, err := keys.LoadSigner(key, []byte(a.Getenv(keys.PasswordEnv)))
	if err != nil {
		return nil, fmt.Errorf("--sign: %w", err)
	}
	return s, nil
}
