package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/ratelimit"
)

// A wait for a token, and the delay of a nak, are recorded in the
// context's cost recorder; a token due at once records nothing.
func TestTakeRecordsTheWaitInTheCost(t *testing.T) {
	t.Parallel()
	s := ratelimit.New([]ratelimit.Limit{{Key: ratelimit.Engine, PerSecond: 20, Burst: 1}}, ratelimit.Options{})
	var rec cost.Recorder
	ctx := cost.WithRecorder(context.Background(), &rec)
	wait := func() time.Duration {
		var d time.Duration
		rec.Visit(func(r *cost.Record) { d = r.RateWait })
		return d
	}
	if err := s.Take(ctx, ratelimit.Engine, ratelimit.Ref{}, time.Second); err != nil || wait() != 0 {
		t.Fatalf("first take: %v, waited %v; want at once", err, wait())
	}
	if err := s.Take(ctx, ratelimit.Engine, ratelimit.Ref{}, time.Second); err != nil || wait() <= 0 {
		t.Fatalf("second take: %v, waited %v; want a wait", err, wait())
	}
	before := wait()
	var limited *wire.RateLimitedError
	if err := s.Take(ctx, ratelimit.Engine, ratelimit.Ref{}, 0); !errors.As(err, &limited) || wait()-before != limited.RetryAfter {
		t.Fatalf("third take: %v, recorded %v; want a nak and its delay", err, wait()-before)
	}
}
