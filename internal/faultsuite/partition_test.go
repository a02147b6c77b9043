//go:build faults

package faultsuite

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"
)

// netns is a network namespace joined to the host by a veth pair: the
// host end has hostIP, the namespace end nsIP. Taking the host end down
// partitions whatever runs in the namespace.
type netns struct {
	name, hostIf, hostIP, nsIP string
}

// setupNetns creates the namespace and veth pair (deleted by t.Cleanup),
// or skips the test saying what is missing.
func setupNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("partition test skipped: needs root to create a network namespace (ip netns)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("partition test skipped: the `ip` command (iproute2) is not installed")
	}
	id := os.Getpid() % 100000
	sub := id%200 + 20
	n := &netns{name: fmt.Sprintf("regen-fault-%d", id), hostIf: fmt.Sprintf("rgnh%d", id),
		hostIP: fmt.Sprintf("10.213.%d.1", sub), nsIP: fmt.Sprintf("10.213.%d.2", sub)}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("partition test skipped: `ip netns add` failed (no CAP_SYS_ADMIN?): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.name).Run() })
	nsIf := fmt.Sprintf("rgnn%d", id)
	for _, args := range [][]string{
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", n.name},
		{"addr", "add", n.hostIP + "/24", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", n.nsIP + "/24", "dev", nsIf},
		{"-n", n.name, "link", "set", nsIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Skipf("partition test skipped: `ip %v` failed: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", n.hostIf).Run() })
	return n
}

// link brings the host end of the veth up or down.
func (n *netns) link(t *testing.T, state string) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", n.hostIf, state).CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s %s: %v: %s", n.hostIf, state, err, out)
	}
}

// TestPartition: a replica in its own network namespace is cut off from
// NATS for 20s mid-run. Its unacked events are redelivered to the other
// replicas meanwhile (AckWait 3s), work goes on, and once the link is back
// the replica resumes: it deploys events published after the heal
// (within two minutes; events are published in rounds until it does).
func TestPartition(t *testing.T) {
	ns := setupNetns(t)
	n, cut := envInt(t, "FAULT_PARTITION_EVENTS", 3000), envDuration(t, "FAULT_PARTITION", 20*time.Second)
	srv := startNATS(t, natsOpts{host: ns.hostIP})
	root := t.TempDir()
	extra := []string{"--max-concurrent", "8", "--ack-wait", "3s", "--call-timeout", "2s"}
	// The victim's engine is slow, so it always holds unacked events.
	startReplica(t, "part-victim", replicaOpts{natsURL: srv.url(), root: root,
		extra:  append([]string{"--faults", "engine:delay=500ms"}, extra...),
		prefix: []string{"ip", "netns", "exec", ns.name}})
	for i := range 2 {
		startReplica(t, fmt.Sprintf("part-r%d", i+1), replicaOpts{natsURL: srv.url(), root: root,
			extra: append([]string{"--faults", "engine:delay=20ms"}, extra...)})
	}
	js := connect(t, srv.url())
	waitProvisioned(t, js)
	publishOrFail(t, js, 0, n)
	testkit.WaitFor(t, time.Minute, "the victim deploying", func() bool { return deploysBy(t, js, "part-victim", time.Time{}) > 0 })
	before := redeliveries(t, js)
	ns.link(t, "down")
	atCut := len(deployedNodes(root))
	redelivered := partitionFor(t, js, root, cut, atCut, before)
	ns.link(t, "up")
	healed := time.Now()
	figure(t, "redelivered_during_cut", redelivered)
	total, after := publishUntilResumed(t, js, n, n, healed, 2*time.Minute)
	figure(t, "victim_deploys_after_heal", after)
	if after == 0 {
		t.Error("the partitioned replica deployed nothing in the 2 minutes after the link came back")
	}
	waitAllDeployed(t, js, root, total, 3*time.Minute)
	checkNoDuplicates(t, js, total)
	checkDLQEmpty(t, js)
}

// publishUntilResumed publishes rounds of n events (indexes from next on)
// until the victim has deployed one after healed or budget has passed
// (each round is drained before the victim's deploys are counted);
// it returns how many events were published in all and the victim's
// deploys since healed. A round the others drain before the victim is
// back starts the next one: the victim's connection resumes only when TCP
// retransmits after the cut (exponential backoff: up to ~13s after a 20s
// cut) and its engine breaker, opened by the cut's timeouts, half-opens.
func publishUntilResumed(t *testing.T, js jetstream.JetStream, next, n int, healed time.Time, budget time.Duration) (int, int) {
	t.Helper()
	end := time.Now().Add(budget)
	for time.Now().Before(end) {
		publishOrFail(t, js, next, next+n)
		next += n
		poll(time.Until(end), func() bool { return drained(js) })
		if got := deploysBy(t, js, "part-victim", healed); got > 0 {
			return next, got
		}
	}
	return next, deploysBy(t, js, "part-victim", healed)
}

// partitionFor keeps the link down for d while checking that the others
// make progress and redeliver the victim's unacked events; it returns the
// redeliveries seen during the cut.
func partitionFor(t *testing.T, js jetstream.JetStream, root string, d time.Duration, atCut int, redeliveredBefore uint64) uint64 {
	t.Helper()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var redelivered uint64
	for {
		select {
		case <-end.C:
			progress := len(deployedNodes(root)) - atCut
			figure(t, "deployed_by_others_during_cut", progress)
			if progress <= 0 {
				t.Error("no progress while the victim was cut off")
			}
			if redelivered == 0 {
				t.Error("none of the victim's unacked events were redelivered during the cut")
			}
			return redelivered
		case <-tick.C:
			redelivered = redeliveries(t, js) - redeliveredBefore
		}
	}
}

func publishOrFail(t *testing.T, js jetstream.JetStream, from, to int) {
	t.Helper()
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, from, to); err != nil {
		t.Fatal(err)
	}
}

// deploysBy counts deployment_completed telemetry from replica since t0.
func deploysBy(t *testing.T, js jetstream.JetStream, replica string, t0 time.Time) int {
	t.Helper()
	n := 0
	err := readTelemetry(js, wire.DeploymentCompleted, func(ev wire.TelemetryRecord) {
		if ev.Replica == replica && ev.Timestamp.After(t0) {
			n++
		}
	})
	if err != nil {
		t.Fatalf("read telemetry: %v", err)
	}
	return n
}

// redeliveries is how many deliveries so far were redeliveries: every
// message REGEN_CHANGES ever stored (its last sequence: a test's stream
// is new) was delivered at least once unless still pending, so the level
// consumers' deliveries beyond that count are redeliveries. Exact while
// nothing is being published.
func redeliveries(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	si, ci := streamInfo(js, wire.ChangesStream), consumerInfo(js)
	if si == nil || ci == nil {
		t.Fatal("no stream or consumer info")
	}
	return ci.Delivered.Consumer + ci.NumPending - si.State.LastSeq
}
