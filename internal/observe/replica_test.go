package observe_test

import (
	"testing"

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
