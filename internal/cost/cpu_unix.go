//go:build unix

package cost

import (
	"syscall"
	"time"
)

// ProcessCPU is the process's own CPU time so far, user and system
// (getrusage RUSAGE_SELF: exec children are not in it); false when it
// cannot be read.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
