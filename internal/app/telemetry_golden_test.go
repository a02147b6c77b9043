package app

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
)

// The payloads built here must encode to the bytes they had as map
// literals; the legacy* functions are that code, kept as the reference.

// legacyEvent is the telemetry envelope as it was, with map data.
type legacyEvent struct {
	ID        string             `json:"id"`
	Type      wire.TelemetryType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Component string             `json:"component"`
	Replica   string             `json:"replica"`
	Data      map[string]any     `json:"data"`
	Tags      map[string]string  `json:"tags,omitempty"`
}

func legacyBreaker(sc breaker.StateChange) map[string]any {
	return map[string]any{"component": sc.Component, "from": sc.From, "to": sc.To, "counts": sc.Counts}
}

func legacyReaped(seq uint64) map[string]any {
	return map[string]any{"reason": wire.ReasonMaxDeliveries, "seq": seq}
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
		requireSameWire(t, wire.BreakerStateChanged, sc.Component, legacyBreaker(sc), breakerData(sc))
	}
	for _, seq := range []uint64{0, 42, math.MaxUint64} {
		requireSameWire(t, wire.EventRejected, "reaper", legacyReaped(seq), reapedData(seq))
	}
}

func requireSameWire(t *testing.T, typ wire.TelemetryType, component string, legacy map[string]any,
	typed wire.TelemetryPayload) {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	old, err := json.Marshal(legacyEvent{ID: "id-1", Type: typ, Timestamp: at, Component: component,
		Replica: "r1", Data: legacy})
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.EncodeTelemetry(wire.TelemetryEvent{ID: "id-1", Type: typed.TelemetryType(), Timestamp: at,
		Component: component, Replica: "r1", Data: typed})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, got) {
		t.Fatalf("wire changed\nold %s\nnew %s", old, got)
	}
}
