package translator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// DefaultKillGrace is how long a cancelled translation gets between
// SIGTERM and SIGKILL.
const DefaultKillGrace = 10 * time.Second

// runGroup runs argv in dir with exactly env, as the leader of a new
// process group, with stdout and stderr merged into out. When ctx ends the
// whole group gets SIGTERM, then SIGKILL after grace; whatever is left of
// the group after the leader exits is killed too, so no compiler or
// background child outlives the run.
func runGroup(ctx context.Context, argv []string, dir string, env []string, out io.Writer, grace time.Duration) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	// The pipe's write end goes to the child as a plain file, so no copy
	// goroutine of os/exec waits on grandchildren that keep it open.
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	defer pr.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = pw, pw
	newGroup(cmd)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	pw.Close()
	pgid := cmd.Process.Pid

	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, pr)
		copied <- err
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var waitErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		signalGroup(pgid, false)
		t := time.NewTimer(grace)
		select {
		case waitErr = <-exited:
			t.Stop()
		case <-t.C:
			signalGroup(pgid, true)
			waitErr = <-exited
		}
	}
	// Members of the group may outlive the leader (background jobs).
	signalGroup(pgid, true)

	// A process that left the group could still hold the pipe; do not
	// wait for it forever.
	var copyErr error
	select {
	case copyErr = <-copied:
	case <-time.After(grace + time.Second):
		pr.Close()
		copyErr = <-copied
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		// Flattened on purpose: callers (the CLI) treat an error with an
		// ExitCode method as a child's status to pass through silently.
		return fmt.Errorf("RPython ended with %s", ee.String())
	}
	if waitErr != nil {
		return waitErr
	}
	if copyErr != nil {
		return fmt.Errorf("read output: %w", copyErr)
	}
	return nil
}
