//go:build !unix

package cost

import "time"

// ProcessCPU is the process's own CPU time so far; on this platform it
// cannot be read (false).
func ProcessCPU() (time.Duration, bool) { return 0, false }
