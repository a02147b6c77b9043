package orchestrator

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
)

// isPermanent reports whether no retry can fix err: it matches
// wire.ErrPermanent (invalid input included), or Deps.IsPermanent
// recognises it.
func (o *Orchestrator) isPermanent(err error) bool {
	return wire.IsPermanent(err) || (o.deps.IsPermanent != nil && o.deps.IsPermanent(err))
}

// busyNakDelay bounds the redelivery delay of an event whose artifact path
// another replica held: long enough for the holder to finish, jittered so
// that contending replicas do not meet again.
const busyNakDelay = 500 * time.Millisecond

// deferral reports whether err gives the event back untried (a circuit
// is open, a rate limit has no token for it in time, or something it
// needs is busy), and how long to wait before it
// is tried again. A deferral is not a failure and spends none of the
// event's delivery budget.
func (o *Orchestrator) deferral(err error) (time.Duration, bool) {
	if delay, open := o.openDelay(err); open {
		return delay, true
	}
	var rl *wire.RateLimitedError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	if errors.Is(err, wire.ErrDeferred) {
		return busyNakDelay/2 + rand.N(busyNakDelay/2), true
	}
	return 0, false
}

// openDelay reports whether err says a circuit is open, and how long to
// wait before the event is tried again.
func (o *Orchestrator) openDelay(err error) (time.Duration, bool) {
	var oe *breaker.OpenError
	if errors.As(err, &oe) {
		if oe.RetryAfter > 0 {
			return oe.RetryAfter, true
		}
		return o.cfg.OpenNakDelay, true
	}
	if errors.Is(err, breaker.ErrOpen) {
		return o.cfg.OpenNakDelay, true
	}
	return 0, false
}
