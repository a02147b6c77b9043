//go:build faults

package faultsuite

import (
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/testkit"
)

// waitAllDeployed waits until every node in [0, n) has its artifact under
// root and REGEN_CHANGES is drained.
func waitAllDeployed(t *testing.T, js jetstream.JetStream, root string, n int, d time.Duration) {
	t.Helper()
	var nodes map[int]bool
	ok := poll(d, func() bool {
		nodes = deployedNodes(root)
		return len(nodes) == n && drained(js)
	})
	if !ok {
		ci := consumerInfo(js)
		t.Fatalf("after %s: %d of %d artifacts, missing e.g. %v; consumer %+v", d, len(nodes), n, missing(nodes, n), ciSummary(ci))
	}
}

// ciSummary is the part of consumer info the suite looks at.
func ciSummary(ci *jetstream.ConsumerInfo) map[string]any {
	if ci == nil {
		return nil
	}
	return map[string]any{"pending": ci.NumPending, "ack_pending": ci.NumAckPending,
		"redelivered": ci.NumRedelivered, "waiting": ci.NumWaiting}
}

// checkNoDuplicates fails the test if any event has more than one
// deployment_completed, and reports how many events the telemetry saw (a
// replica killed with -9 may lose telemetry it had not flushed, which can
// only undercount).
func checkNoDuplicates(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	countDuplicates(t, js, n, "")
}

// countDuplicates is checkNoDuplicates with its figures and errors named
// by prefix (a region's "east_"); it returns how many events were deployed
// more than once.
func countDuplicates(t *testing.T, js jetstream.JetStream, n int, prefix string) int {
	t.Helper()
	per := testkit.DeploysPerEvent(t, js)
	dupes := 0
	for id, c := range per {
		if c > 1 {
			dupes++
			if dupes <= 10 {
				t.Errorf("%sevent %s deployed %d times", prefix, id, c)
			}
		}
	}
	figure(t, prefix+"events_with_deploy_telemetry", len(per))
	figure(t, prefix+"duplicate_deploys", dupes)
	if len(per) > n {
		t.Errorf("%s%d events have deploy telemetry, only %d were published", prefix, len(per), n)
	}
	return dupes
}

// checkDLQEmpty fails the test if anything was dead-lettered.
func checkDLQEmpty(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	si := streamInfo(js, wire.DLQStream)
	if si == nil {
		t.Fatal("REGEN_DLQ: no stream info")
	}
	if si.State.Msgs != 0 {
		t.Errorf("%d events were dead-lettered", si.State.Msgs)
	}
}

// rate is events per second over d.
func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
