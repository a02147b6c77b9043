//go:build !unix

package exec

import (
	"os/exec"
	"time"
)

// killGroup lets exec kill the generator when the run's context ends.
func killGroup(cmd *exec.Cmd) { cmd.WaitDelay = time.Second }
