package translator

import (
	"fmt"
	"os"
)

func memTotal() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	return parseMemTotal(b)
}
