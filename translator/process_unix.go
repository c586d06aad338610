//go:build unix

package translator

import (
	"os/exec"
	"syscall"
)

// newGroup makes the child the leader of a new process group, so a
// cancelled run can signal RPython and every compiler it started.
func newGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends SIGTERM (or SIGKILL when kill) to the whole group.
func signalGroup(pgid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pgid, sig)
}
