//go:build faults

package faultsuite

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"
)

// startCluster starts a 3-node JetStream cluster n1..n3 on loopback ports
// and waits until every node answers JetStream requests.
func startCluster(t *testing.T) []*natsNode {
	t.Helper()
	nodes := make([]*natsNode, 3)
	var routes []int
	for i := range nodes {
		nodes[i] = newNATSNode(t, fmt.Sprintf("n%d", i+1), natsOpts{})
		nodes[i].routePort = freePort(t)
		routes = append(routes, nodes[i].routePort)
	}
	for _, n := range nodes {
		n.writeConf(t, natsOpts{routes: routes})
		n.start(t)
	}
	for _, n := range nodes {
		n.waitJetStream(t, time.Minute)
	}
	return nodes
}

func clusterURL(nodes []*natsNode) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url())
	}
	return strings.Join(urls, ",")
}

// TestClusterFailover: R3 streams, KV and object store on a 3-node
// cluster; the REGEN_CHANGES leader is killed with -9 mid-run. Work
// continues after re-election, nothing is lost, and the node, started
// again, catches up.
func TestClusterFailover(t *testing.T) {
	n := envInt(t, "FAULT_CLUSTER_EVENTS", 3000)
	figure(t, "events", n)
	nodes := startCluster(t)
	url, root := clusterURL(nodes), t.TempDir()
	for i := range 2 {
		startReplica(t, fmt.Sprintf("cluster-r%d", i+1), replicaOpts{natsURL: url, root: root,
			extra: append([]string{"--replicas", "3"}, crashFlags...)})
	}
	js := connect(t, url)
	begin := time.Now()
	waitProvisioned(t, js)
	figure(t, "seconds_to_provisioned", time.Since(begin).Seconds())
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, 0, n); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, time.Minute, "a fifth of the artifacts", func() bool { return len(deployedNodes(root)) >= n/5 })
	leader := killLeader(t, js, nodes)
	atKill := len(deployedNodes(root))
	figure(t, "deployed_at_kill", atKill)
	killed := time.Now()
	testkit.WaitFor(t, time.Minute, "a new REGEN_CHANGES leader", func() bool {
		si := streamInfo(js, wire.ChangesStream)
		return si != nil && si.Cluster != nil && si.Cluster.Leader != "" && si.Cluster.Leader != leader.name
	})
	figure(t, "seconds_to_new_leader", time.Since(killed).Seconds())
	testkit.WaitFor(t, time.Minute, "progress after the failover", func() bool { return len(deployedNodes(root)) > atKill+n/20 })
	waitAllDeployed(t, js, root, n, 3*time.Minute)
	figure(t, "seconds_to_drain_after_kill", time.Since(killed).Seconds())
	leader.start(t)
	back := time.Now()
	waitCurrent(t, js, leader.name, 2*time.Minute)
	figure(t, "seconds_to_current_after_restart", time.Since(back).Seconds())
	checkNoDuplicates(t, js, n)
	checkDLQEmpty(t, js)
}

// killLeader kills the node leading REGEN_CHANGES and returns it.
func killLeader(t *testing.T, js jetstream.JetStream, nodes []*natsNode) *natsNode {
	t.Helper()
	si := streamInfo(js, wire.ChangesStream)
	if si == nil || si.Cluster == nil || len(si.Cluster.Replicas) != 2 {
		t.Fatalf("REGEN_CHANGES is not an R3 stream: %+v", si)
	}
	for _, n := range nodes {
		if n.name == si.Cluster.Leader {
			t.Logf("killing %s, the REGEN_CHANGES leader", n.name)
			n.proc.kill()
			return n
		}
	}
	t.Fatalf("leader %q is not one of the nodes", si.Cluster.Leader)
	return nil
}

// replicatedStreams are the streams behind regen's streams and buckets.
var replicatedStreams = []string{wire.ChangesStream, wire.TelemetryStream, wire.DLQStream,
	"KV_" + wire.ModelBucket, "KV_" + wire.ArtifactBucket}

// waitCurrent waits until node is a current replica of every stream.
func waitCurrent(t *testing.T, js jetstream.JetStream, node string, d time.Duration) {
	t.Helper()
	for _, name := range replicatedStreams {
		testkit.WaitFor(t, d, node+" current on "+name, func() bool { return isCurrent(js, name, node) })
	}
}

func isCurrent(js jetstream.JetStream, stream, node string) bool {
	si := streamInfo(js, stream)
	if si == nil || si.Cluster == nil {
		return false
	}
	if si.Cluster.Leader == node {
		return true
	}
	for _, p := range si.Cluster.Replicas {
		if p.Name == node {
			return p.Current && !p.Offline
		}
	}
	return false
}
