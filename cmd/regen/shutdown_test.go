package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/testkit"
)

// A slow engine guarantees the signal lands mid-cycle.
const slowEngine = "engine:delay=20ms"

func TestSigtermMidCycleExitsZeroAndRestartLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 300
	addr, data, out := testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	p := startRegen(t, addr, data, out, "--faults", slowEngine, "--max-concurrent", "4", "--call-timeout", "3s")
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, n)
	testkit.WaitFor(t, 30*time.Second, "some artifacts", func() bool { return countArtifacts(out) >= 20 })
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	if got := countArtifacts(out); got >= n {
		t.Fatalf("all %d deployed before the signal; the test did not stop mid-run", got)
	}
	startRegen(t, addr, data, out)
	testkit.WaitFor(t, 60*time.Second, "every artifact after restart", func() bool {
		return countArtifacts(out) == n && pendingChanges(js) == 0
	})
	for id, c := range testkit.DeploysPerEvent(t, js) {
		if c != 1 {
			t.Errorf("event %s deployed %d times", id, c)
		}
	}
}

func TestKill9OfTheEmbeddedServerHostLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 300
	addr, data, out := testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	p := startRegen(t, addr, data, out, "--faults", slowEngine, "--max-concurrent", "4", "--ack-wait", "2s",
		"--call-timeout", "3s")
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, n)
	testkit.WaitFor(t, 30*time.Second, "some artifacts", func() bool { return countArtifacts(out) >= 20 })
	p.signal(t, syscall.SIGKILL)
	p.wait(t, 10*time.Second)
	startRegen(t, addr, data, out, "--ack-wait", "2s", "--call-timeout", "3s")
	testkit.WaitFor(t, 90*time.Second, "every artifact after restart", func() bool {
		return countArtifacts(out) == n && pendingChanges(js) == 0
	})
}

func TestCrashBetweenDeployAndAckIsSkippedOnRedelivery(t *testing.T) {
	t.Parallel()
	const n = 60
	addr, data, out := testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	p := startRegen(t, addr, data, out, "--faults", "deployer:crash_after=25", "--max-concurrent", "1",
		"--ack-wait", "1s")
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, n)
	if code := p.wait(t, 60*time.Second); code != 99 {
		t.Fatalf("exit code = %d, want the injected crash (99)", code)
	}
	crashed := countArtifacts(out)
	startRegen(t, addr, data, out, "--ack-wait", "1s")
	testkit.WaitFor(t, 60*time.Second, "every artifact after restart", func() bool {
		return countArtifacts(out) == n && pendingChanges(js) == 0
	})
	skipped := cycleSkipped(t, js)
	if skipped < 1 {
		t.Fatalf("the redelivered, already-deployed event was not skipped (skipped=%d, %d artifacts at crash)", skipped, crashed)
	}
	for id, c := range testkit.DeploysPerEvent(t, js) {
		if c != 1 {
			t.Errorf("event %s deployed %d times", id, c)
		}
	}
}

// cycleSkipped sums `skipped` over the per-cycle regeneration_completed
// events (the server lives in the replica: read them while it runs).
func cycleSkipped(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	total := 0
	for _, ev := range telemetry(t, js, wire.RegenerationCompleted) {
		if final, _ := ev.Data["final"].(bool); !final {
			s, _ := ev.Data["skipped"].(float64)
			total += int(s)
		}
	}
	return total
}
