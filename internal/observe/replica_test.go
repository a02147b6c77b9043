package observe_test

import (
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/orchestrator"
)

func TestReplicaKeyIsAValidToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"host-1234":       "host-1234",
		"web.example-42":  "web_example-42",
		"a b/c*>":         "a_b_c__",
		"":                "_",
		"ünï_cödé=1":      "_n__c_d_=1",
		"REGEN_replica-7": "REGEN_replica-7",
	} {
		if got := observe.ReplicaKey(in); got != want {
			t.Errorf("ReplicaKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSumAddsReplicasAndWeighsCycleTimes(t *testing.T) {
	t.Parallel()
	rs := []observe.ReplicaStats{
		{Concurrency: 4, InFlight: 1, Breakers: map[string]string{"engine": "closed", "deployer": "open"},
			Stats: orchestrator.OrchestrationStats{TotalCycles: 1, AvgCycleTimeMS: 100, EventsProcessed: 10, Failures: 1}},
		{Concurrency: 8, InFlight: 2, Breakers: map[string]string{"engine": "half-open"},
			Stats: orchestrator.OrchestrationStats{TotalCycles: 3, AvgCycleTimeMS: 20, EventsProcessed: 30, DeploymentsCompleted: 5}},
	}
	got := observe.Sum(rs)
	want := observe.Totals{Replicas: 2, Concurrency: 12, InFlight: 3, TotalCycles: 4, EventsProcessed: 40,
		Failures: 1, DeploymentsCompleted: 5, OpenBreakers: 2, AvgCycleTimeMS: 40}
	if got != want {
		t.Fatalf("Sum = %+v\nwant  %+v", got, want)
	}
	if z := observe.Sum(nil); z != (observe.Totals{}) {
		t.Fatalf("Sum(nil) = %+v", z)
	}
}

func TestPrinterLinesAndRawJSON(t *testing.T) {
	t.Parallel()
	ev := wire.TelemetryRecord{Type: wire.RegenerationFailed, Replica: "r1",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 600e6, time.Local),
		Data: map[string]any{"execution_id": "x", "error": "boom bang", "event_id": "e1", "deliveries": 2.0,
			"rate": 0.123456, "nested": map[string]any{"a": 1.0}}}
	p := &observe.Printer{}
	want := `03:04:05.600 regeneration_failed    r1 event_id=e1 error="boom bang" deliveries=2 nested={"a":1} rate=0.123`
	if got := p.Line(ev); got != want {
		t.Fatalf("Line =\n%s\nwant\n%s", got, want)
	}
	colored := (&observe.Printer{Color: true}).Line(ev)
	if colored == want || len(colored) <= len(want) {
		t.Fatalf("Color added nothing: %q", colored)
	}
}
