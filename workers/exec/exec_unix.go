//go:build unix

package exec

import (
	"os/exec"
	"syscall"
	"time"
)

// killGroup runs the generator in its own process group and kills the
// whole group when the run's context ends, so grandchildren do not outlive
// a timeout; Wait gives up on their pipes after a second.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
}
