//go:build !linux && !darwin && !windows

package translator

import (
	"errors"
	"runtime"
)

func memTotal() (uint64, error) {
	return 0, errors.New("reading the memory size is not implemented on " + runtime.GOOS)
}
