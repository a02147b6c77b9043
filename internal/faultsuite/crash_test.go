//go:build faults

package faultsuite

import (
	"math/rand/v2"
	"testing"
	"time"
)

// crashEventsDefault is the crash test's event count in CI; FAULT_EVENTS
// raises it (the issue asks for 10,000).
const crashEventsDefault = 10000

// crashFlags make a killed replica's events come back soon: AckWait 5s,
// and a ledger claim lease (= call timeout) of 3s.
var crashFlags = []string{"--ack-wait", "5s", "--call-timeout", "3s"}

// TestReplicaCrashes: three replicas on one server, two of them killed
// with -9 every few seconds and restarted, while they work through the
// backlog. Every event is deployed once, none twice, the stream drains.
func TestReplicaCrashes(t *testing.T) {
	n := envInt(t, "FAULT_EVENTS", crashEventsDefault)
	every := envDuration(t, "FAULT_KILL_EVERY", 3*time.Second)
	figure(t, "events", n)
	srv := startNATS(t, natsOpts{})
	root := t.TempDir()
	reps := make([]*replica, 3)
	for i := range reps {
		reps[i] = startReplica(t, "crash-r"+string(rune('1'+i)), replicaOpts{natsURL: srv.url(), root: root, extra: crashFlags})
	}
	js := connect(t, srv.url())
	waitProvisioned(t, js)
	start := time.Now()
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, 0, n); err != nil {
		t.Fatal(err)
	}
	kills := crashUntilDeployed(t, reps, root, n, every, 5*time.Minute)
	waitAllDeployed(t, js, root, n, 2*time.Minute)
	elapsed := time.Since(start)
	figure(t, "kills", kills)
	figure(t, "redeliveries", redeliveries(t, js))
	figure(t, "seconds", elapsed.Seconds())
	figure(t, "events_per_second", rate(n, elapsed))
	checkNoDuplicates(t, js, n)
	checkDLQEmpty(t, js)
}

// crashUntilDeployed kills two random replicas with -9 every `every` and
// restarts them, until every artifact is there; it returns the kill count.
func crashUntilDeployed(t *testing.T, reps []*replica, root string, n int, every, budget time.Duration) int {
	t.Helper()
	kills := 0
	sched, check := time.NewTicker(every), time.NewTicker(250*time.Millisecond)
	defer sched.Stop()
	defer check.Stop()
	deadline := time.Now().Add(budget)
	for len(deployedNodes(root)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("not every event deployed after %s (%d kills): %d of %d", budget, kills, len(deployedNodes(root)), n)
		}
		select {
		case <-sched.C:
			for _, i := range rand.Perm(len(reps))[:2] {
				reps[i].restart(t)
				kills++
			}
		case <-check.C:
		}
	}
	return kills
}
