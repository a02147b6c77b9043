package breaker

import "github.com/sony/gobreaker/v2"

// The functions below are gobreaker callbacks: gobreaker calls them with
// its lock held, in the order a call's outcome is applied (isExcluded,
// isSuccessful, readyToTrip, record), so they only touch g.mu's fields.

// readyToTrip trips a closed circuit once at least MinRequests calls have
// completed in the window and failures/completed reaches FailureRatio.
// Completed calls, not Requests, are used: Requests includes calls still in
// flight, which would dilute the ratio under concurrency.
func (g *Guard) readyToTrip(c gobreaker.Counts) bool {
	done := uint64(c.TotalSuccesses) + uint64(c.TotalFailures)
	if done == 0 || done < uint64(g.cfg.MinRequests) {
		return false
	}
	if float64(c.TotalFailures)/float64(done) < g.cfg.FailureRatio {
		return false
	}
	g.mu.Lock()
	g.tally = countsFrom(c)
	g.mu.Unlock()
	return true
}

// isExcluded keeps permanent errors and the caller's cancellations out of
// the circuit's counts (neither success nor failure).
func (g *Guard) isExcluded(err error) bool {
	_, ok := err.(*excludedError)
	if ok {
		g.tallyOutcome(func(c *Counts) { c.TotalExclusions++ })
	}
	return ok
}

// isSuccessful counts nil as a success and every other (non-excluded)
// error, timeouts included, as a failure.
func (g *Guard) isSuccessful(err error) bool {
	if err == nil {
		g.tallyOutcome(func(c *Counts) {
			c.TotalSuccesses++
			c.ConsecutiveSuccesses++
			c.ConsecutiveFailures = 0
		})
		return true
	}
	g.tallyOutcome(func(c *Counts) {
		c.TotalFailures++
		c.ConsecutiveFailures++
		c.ConsecutiveSuccesses = 0
	})
	return false
}

// tallyOutcome mirrors a half-open outcome, so that the StateChange leaving
// half-open carries the probes' counts (gobreaker clears its own counts
// before calling OnStateChange).
func (g *Guard) tallyOutcome(update func(*Counts)) {
	if !g.halfOpen.Load() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != gobreaker.StateHalfOpen {
		return
	}
	g.tally.Requests++
	update(&g.tally)
}
