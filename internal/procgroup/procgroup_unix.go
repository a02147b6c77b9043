//go:build unix

// Package procgroup runs a child command in a process group of its own and
// kills that group whole, for the exec engine's generators and the command
// validators.
package procgroup

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Own makes cmd the leader of a new process group (whose id is its pid),
// killed whole when cmd's context ends; its output pipes are closed at
// most a second after it exits.
func Own(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return Kill(cmd.Process.Pid) }
	cmd.WaitDelay = time.Second
}

// Kill sends SIGKILL to process group pgid; a group already gone is not
// an error.
func Kill(pgid int) error {
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}
