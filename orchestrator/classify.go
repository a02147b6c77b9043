package orchestrator

import (
	"errors"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/breaker"
)

// isPermanent reports whether no retry can fix err: it matches
// wire.ErrPermanent (invalid input included), or Deps.IsPermanent
// recognises it.
func (o *Orchestrator) isPermanent(err error) bool {
	return wire.IsPermanent(err) || (o.deps.IsPermanent != nil && o.deps.IsPermanent(err))
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
