package cli

import "github.com/pypyctl/pypyctl/platforms"

// releaseTarget loads the matrix and looks up a release ("" = the
// matrix's default) and a target, the first step of every command that
// works on one (release, target).
func (a *App) releaseTarget(release, target string) (*platforms.Matrix, *platforms.Release, *platforms.Target, error) {
	m, err := a.LoadMatrix()
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := m.Release(release)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := m.Target(target)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, r, t, nil
}
