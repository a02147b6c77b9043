//go:build !unix

package deploy

import (
	"os/exec"
	"time"
)

// ownGroup lets exec kill a validator when its run's context ends; there
// is no process group on this platform.
func ownGroup(cmd *exec.Cmd) { cmd.WaitDelay = time.Second }

// killGroup does nothing: there is no process group on this platform.
func killGroup(int) error { return nil }
