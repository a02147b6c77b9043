package app

import (
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/ratelimit"
	"github.com/regen-dev/regen/internal/testkit"
)

// The payloads built here must encode to the bytes they had as map
// literals; the legacy* functions are that code, kept as the reference.

func legacyBreaker(sc breaker.StateChange) map[string]any {
	return map[string]any{"component": sc.Component, "from": sc.From, "to": sc.To, "counts": sc.Counts}
}

func legacyReaped(seq uint64) map[string]any {
	return map[string]any{"reason": wire.ReasonMaxDeliveries, "seq": seq}
}

func legacyRateLimited(ev ratelimit.Event) map[string]any {
	action := "wait"
	if ev.Nak {
		action = "nak"
	}
	return map[string]any{"limit": ev.Limit, "action": action, "delay_ms": float64(ev.Delay) / float64(time.Millisecond),
		"event_id": ev.EventID, "execution_id": ev.ExecutionID}
}

func TestTelemetryGoldenBytes(t *testing.T) {
	t.Parallel()
	changes := []breaker.StateChange{
		{Component: "engine", From: breaker.StateClosed, To: breaker.StateOpen, At: time.Now(),
			Counts: breaker.Counts{Requests: 10, TotalSuccesses: 4, TotalFailures: 5, TotalExclusions: 1,
				ConsecutiveSuccesses: 0, ConsecutiveFailures: math.MaxUint32}},
		{Component: "deployer<&>", From: breaker.StateOpen, To: breaker.StateHalfOpen},
	}
	for _, sc := range changes {
		testkit.RequireSameWire(t, wire.BreakerStateChanged, sc.Component, legacyBreaker(sc), breakerData(sc))
	}
	for _, seq := range []uint64{0, 42, math.MaxUint64} {
		testkit.RequireSameWire(t, wire.EventRejected, "reaper", legacyReaped(seq), reapedData(seq))
	}
	for _, ev := range []ratelimit.Event{{Limit: "engine", Delay: 1500 * time.Microsecond},
		{Limit: "source:crm<&>", Ref: ratelimit.Ref{EventID: "ev-1", ExecutionID: "x<1>"}, Nak: true, Delay: 10 * time.Second}} {
		testkit.RequireSameWire(t, wire.RateLimited, "ratelimit", legacyRateLimited(ev), rateLimitedData(ev))
	}
}
