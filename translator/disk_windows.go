package translator

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"
)

func diskFree(path string) (uint64, error) {
	p := path
	for {
		ptr, err := windows.UTF16PtrFromString(p)
		if err != nil {
			return 0, fmt.Errorf("disk space of %s: %w", p, err)
		}
		var avail, total, free uint64
		err = windows.GetDiskFreeSpaceEx(ptr, &avail, &total, &free)
		if err == nil {
			return avail, nil
		}
		if !errors.Is(err, windows.ERROR_PATH_NOT_FOUND) && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || filepath.Dir(p) == p {
			return 0, fmt.Errorf("disk space of %s: %w", p, err)
		}
		p = filepath.Dir(p)
	}
}
