//go:build faults

package faultsuite

import (
	"fmt"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// TestPriceOfDurability runs the same publish-and-process workload on a
// replica with an embedded server, once with JetStream's default fsync
// policy (`--sync default`: sync_interval 2m, acks before fsync) and once
// with `--sync always`, and prints events/s for both and their ratio.
func TestPriceOfDurability(t *testing.T) {
	n := envInt(t, "FAULT_SYNC_EVENTS", 3000)
	figure(t, "events", n)
	pubDef, e2eDef := syncRun(t, "default", n)
	pubAlw, e2eAlw := syncRun(t, "always", n)
	figure(t, "publish_per_second_default", pubDef)
	figure(t, "publish_per_second_always", pubAlw)
	figure(t, "events_per_second_default", e2eDef)
	figure(t, "events_per_second_always", e2eAlw)
	figure(t, "ratio_default_over_always", fmt.Sprintf("%.2f", e2eDef/e2eAlw))
}

// syncRun publishes n events to a fresh `regen run --sync mode` with an
// embedded server and waits until all are deployed; it returns the publish
// rate and the end-to-end rate (publish start to last deploy).
func syncRun(t *testing.T, mode string, n int) (pubRate, e2eRate float64) {
	t.Helper()
	addr, root := fmt.Sprintf("127.0.0.1:%d", freePort(t)), t.TempDir()
	p := startProcess(t, "sync-"+mode, bins.regen, "run", "--listen", addr, "--data-dir", t.TempDir(),
		"--sync", mode, "--templates", bins.templates, "--deploy", "dir:"+root,
		"--log-format", "json", "--log-level", "warn", "--fetch-wait", "200ms")
	testkit.WaitFor(t, 30*time.Second, "embedded server on "+addr, func() bool { return listening(addr) })
	js := connect(t, "nats://"+addr)
	waitProvisioned(t, js)
	start := time.Now()
	ctx, cancel := ctxFor(5 * time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, 0, n); err != nil {
		t.Fatal(err)
	}
	pubRate = rate(n, time.Since(start))
	waitAllDeployed(t, js, root, n, 5*time.Minute)
	e2eRate = rate(n, time.Since(start))
	p.kill()
	return pubRate, e2eRate
}
