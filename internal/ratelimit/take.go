package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
)

// Take takes a token of limit key for the event ref. A key without a limit
// costs a map look-up. When the token is due at once Take returns nil;
// when it is due within maxWait Take waits for it (ctx cancels the wait:
// the token is given back and ctx's error returned); later, it reserves
// nothing and returns a *wire.RateLimitedError with the delay, which the
// caller turns into a nak. The wait, or the delay of a nak, is recorded
// in ctx's cost.Recorder.
func (s *Set) Take(ctx context.Context, key string, ref Ref, maxWait time.Duration) error {
	lim, ok := s.limiters[key]
	if !ok {
		return nil
	}
	r := lim.Reserve()
	delay := r.Delay()
	if delay == 0 {
		return nil
	}
	if delay > maxWait || !r.OK() {
		r.Cancel()
		cost.From(ctx).RateLimited(delay)
		s.tell(Event{Limit: key, Ref: ref, Nak: true, Delay: delay})
		return &wire.RateLimitedError{Limit: key, RetryAfter: delay}
	}
	s.tell(Event{Limit: key, Ref: ref, Delay: delay})
	cost.From(ctx).RateLimited(delay)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("rate limit %s: %w", key, ctx.Err())
	}
}

// MaxWait is how long an event whose work must end by deadline may wait
// for a token: half the time it has left, so that the work keeps the
// other half. A ctx without a deadline may wait up to fallback.
func MaxWait(ctx context.Context, fallback time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return fallback
	}
	return max(time.Until(d)/2, 0)
}

func (s *Set) tell(ev Event) {
	if s.opts.OnLimited != nil {
		s.opts.OnLimited(ev)
	}
}
