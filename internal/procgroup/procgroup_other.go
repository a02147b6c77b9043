//go:build !unix

// Package procgroup runs a child command in a process group of its own and
// kills that group whole, for the exec engine's generators and the command
// validators. Off unix there are no process groups: the command alone is
// killed.
package procgroup

import (
	"os/exec"
	"time"
)

// Own lets exec kill cmd when its context ends.
func Own(cmd *exec.Cmd) { cmd.WaitDelay = time.Second }

// Kill does nothing: there is no process group on this platform.
func Kill(int) error { return nil }
