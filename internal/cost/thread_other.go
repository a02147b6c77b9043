//go:build !linux

package cost

import "time"

// OnThread runs fn; the CPU time of one goroutine cannot be measured on
// this platform (false).
func OnThread(fn func()) (time.Duration, bool) {
	fn()
	return 0, false
}
