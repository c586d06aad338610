//go:build windows

package translator

import (
	"os"
	"os/exec"
)

// Windows has no process groups to signal; translation is not supported
// there (the matrix marks Windows targets not buildable), so the leader
// alone is stopped.
func newGroup(*exec.Cmd) {}

// signalGroup kills the leader: Windows has no SIGTERM to ask politely.
func signalGroup(pid int, kill bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
