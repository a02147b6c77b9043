package breaker

import (
	"context"
	"math"
	"time"
)

// Backoff returns the delay before retry number attempt (1-based):
// initial for attempt 1 (or less), doubling each attempt, capped at
// maxDelay (no cap when maxDelay <= 0). It is pure and jitter-free, for the
// caller's NakWithDelay by delivery count. A non-positive initial gives 0.
func Backoff(attempt int, initial, maxDelay time.Duration) time.Duration {
	if initial <= 0 {
		return 0
	}
	limit := maxDelay
	if limit <= 0 {
		limit = math.MaxInt64
	}
	d := min(initial, limit)
	for i := 1; i < attempt && d < limit; i++ {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return d
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the latter case. A non-positive d returns ctx.Err() at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
