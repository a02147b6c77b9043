//go:build unix

package deploy

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// ownGroup runs a validator in its own process group, whose id is its
// pid, killed whole when its run's context ends; its output pipes are
// closed at most a second after it exits.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = time.Second
}

// killGroup sends SIGKILL to process group pgid; a group already gone is
// not an error.
func killGroup(pgid int) error {
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}
