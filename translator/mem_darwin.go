package translator

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func memTotal() (uint64, error) {
	n, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0, fmt.Errorf("read memory size (sysctl hw.memsize): %w", err)
	}
	return n, nil
}
