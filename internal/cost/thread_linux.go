//go:build linux

package cost

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the calling OS thread's CPU time so far.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// OnThread runs fn with the calling goroutine locked to its OS thread and
// returns the CPU time that thread spent in fn (its own work, garbage
// collection assists included); false when it could not be measured (it
// is on Linux only).
func OnThread(fn func()) (time.Duration, bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, ok := threadCPU()
	fn()
	after, ok2 := threadCPU()
	return after - before, ok && ok2
}
