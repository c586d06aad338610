//go:build unix

package archive

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// oNoFollow makes the create fail on a symlink planted at the path.
const oNoFollow = unix.O_NOFOLLOW

func setLinkTime(p string, t time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(t.UnixNano()), unix.NsecToTimespec(t.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lutimes", Path: p, Err: err}
	}
	return nil
}
