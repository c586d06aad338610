//go:build windows

package archive

import "time"

// Windows has no O_NOFOLLOW; O_EXCL already refuses any existing path,
// symlinks included.
const oNoFollow = 0

// setLinkTime is a no-op: Windows cannot set a symlink's own times through
// the os package, and archives extracted there are not re-packed.
func setLinkTime(string, time.Time) error { return nil }
