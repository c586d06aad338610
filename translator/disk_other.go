//go:build !linux && !darwin && !windows

package translator

import (
	"errors"
	"runtime"
)

func diskFree(string) (uint64, error) {
	return 0, errors.New("reading free disk space is not implemented on " + runtime.GOOS)
}
