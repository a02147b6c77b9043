//go:build unix && !linux

package exec

import (
	"errors"
	"os/exec"
	"time"
)

// becomeSubreaper fails: child subreapers are a Linux feature.
func becomeSubreaper() error { return errors.ErrUnsupported }

// waitAndSettle waits for the generator, then kills its process group and
// waits for the group to be empty. Processes that left the group are not
// tracked on this platform.
func waitAndSettle(cmd *exec.Cmd, _ string, d time.Duration) (werr, serr error) {
	werr = cmd.Wait()
	return werr, settleGroup(cmd.Process.Pid, d)
}
