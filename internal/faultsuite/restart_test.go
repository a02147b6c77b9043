//go:build faults

package faultsuite

import (
	"net/http"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// TestServerRestart: the nats-server process is killed with -9 mid-run and
// started again on the same port and store. The replicas turn not-ready
// (503), reconnect by themselves, turn ready (200) and finish the work.
func TestServerRestart(t *testing.T) {
	n := envInt(t, "FAULT_RESTART_EVENTS", 3000)
	figure(t, "events", n)
	srv := startNATS(t, natsOpts{})
	root := t.TempDir()
	reps := []*replica{
		startReplica(t, "restart-r1", replicaOpts{natsURL: srv.url(), root: root, http: true, extra: crashFlags}),
		startReplica(t, "restart-r2", replicaOpts{natsURL: srv.url(), root: root, http: true, extra: crashFlags}),
	}
	js := connect(t, srv.url())
	waitProvisioned(t, js)
	for _, r := range reps {
		r.waitReady(t, 30*time.Second)
	}
	ctx, cancel := ctxFor(time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, 0, n); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, time.Minute, "a fifth of the artifacts", func() bool { return len(deployedNodes(root)) >= n/5 })
	srv.proc.kill()
	atKill := len(deployedNodes(root))
	figure(t, "deployed_at_kill", atKill)
	if atKill >= n {
		t.Fatalf("all %d deployed before the kill: not mid-run", n)
	}
	waitAllStatus(t, reps, http.StatusServiceUnavailable, 15*time.Second)
	down := time.Now()
	srv.start(t)
	waitAllStatus(t, reps, http.StatusOK, time.Minute)
	figure(t, "seconds_to_ready_after_restart", time.Since(down).Seconds())
	waitAllDeployed(t, js, root, n, 2*time.Minute)
	checkNoDuplicates(t, js, n)
	checkDLQEmpty(t, js)
}

// waitAllStatus polls every replica's /readyz until each answers code.
func waitAllStatus(t *testing.T, reps []*replica, code int, d time.Duration) {
	t.Helper()
	for _, r := range reps {
		testkit.WaitFor(t, d, r.name+" /readyz "+http.StatusText(code), func() bool { return r.readyz() == code })
	}
}
