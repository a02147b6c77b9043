//go:build faults

package faultsuite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// region is one region of TestRegions: a JetStream domain of one or
// more servers, its replicas, its deploy root and a client.
type region struct {
	name   string // the JetStream domain, also the cluster name
	prefix string // the node-name prefix of its events: "e" or "w"
	nodes  []*natsNode
	root   string
	js     jetstream.JetStream
	acked  atomic.Int64 // events of the paced publisher acknowledged
}

// startRegions starts the hub region east and the region west, whose
// servers join east's by leafnodes; servers per region, clustered when
// more than one.
func startRegions(t *testing.T, servers int) (east, west *region) {
	t.Helper()
	east = newRegion(t, "east", "e", servers, true)
	west = newRegion(t, "west", "w", servers, false)
	var leafPorts []int
	for _, n := range east.nodes {
		leafPorts = append(leafPorts, n.leafPort)
	}
	east.configure(t, nil)
	west.configure(t, leafPorts)
	for _, r := range []*region{east, west} {
		r.start(t)
		r.js = connect(t, clusterURL(r.nodes))
	}
	return east, west
}

func newRegion(t *testing.T, name, prefix string, servers int, hub bool) *region {
	t.Helper()
	r := &region{name: name, prefix: prefix, root: t.TempDir()}
	for i := range servers {
		n := newNATSNode(t, fmt.Sprintf("%s%d", prefix, i+1), natsOpts{})
		if servers > 1 {
			n.routePort = freePort(t)
		}
		if hub {
			n.leafPort = freePort(t)
		}
		r.nodes = append(r.nodes, n)
	}
	return r
}

// configure writes every node's config: the region's domain and
// cluster, and leafnode remotes to the hub's leaf ports.
func (r *region) configure(t *testing.T, hubLeafPorts []int) {
	t.Helper()
	var routes []int
	for _, n := range r.nodes {
		if n.routePort != 0 {
			routes = append(routes, n.routePort)
		}
	}
	for _, n := range r.nodes {
		n.writeConf(t, natsOpts{routes: routes, cluster: r.name, domain: r.name, leafRemotes: hubLeafPorts})
	}
}

// start starts every server of the region (again, after a kill: same
// ports and stores) and waits until each answers JetStream requests.
func (r *region) start(t *testing.T) {
	t.Helper()
	for _, n := range r.nodes {
		n.start(t)
	}
	for _, n := range r.nodes {
		n.waitJetStream(t, time.Minute)
	}
}

// kill kills every server of the region with -9.
func (r *region) kill() {
	for _, n := range r.nodes {
		n.proc.kill()
	}
}

// startReplicas starts two replicas in the region, with peer as the
// other region.
func (r *region) startReplicas(t *testing.T, peer string) {
	t.Helper()
	extra := append([]string{"--region", r.name, "--region-peers", peer,
		"--replicas", strconv.Itoa(len(r.nodes))}, crashFlags...)
	for i := range 2 {
		startReplica(t, fmt.Sprintf("%s-r%d", r.name, i+1), replicaOpts{natsURL: clusterURL(r.nodes), root: r.root, extra: extra})
	}
}

// waitSourcing waits until REGEN_CHANGES sources both ingest streams.
func (r *region) waitSourcing(t *testing.T) {
	t.Helper()
	active := func() bool {
		si := streamInfo(r.js, wire.ChangesStream)
		if si == nil || len(si.Sources) != 2 {
			return false
		}
		for _, src := range si.Sources {
			if src.Error != nil || src.Active < 0 || src.Active > 5*time.Second {
				return false
			}
		}
		return true
	}
	if !poll(time.Minute, active) {
		t.Fatalf("%s: REGEN_CHANGES does not source both regions: %s", r.name, r.sourcing())
	}
}

// sourcing describes REGEN_CHANGES's messages and sources.
func (r *region) sourcing() string {
	si := streamInfo(r.js, wire.ChangesStream)
	if si == nil {
		return "no stream info"
	}
	out := fmt.Sprintf("msgs %d last seq %d;", si.State.Msgs, si.State.LastSeq)
	for _, src := range si.Sources {
		out += fmt.Sprintf(" source %s (external %v): lag %d active %s error %v;", src.Name, src.External != nil, src.Lag, src.Active, src.Error)
	}
	return out
}

// regionEvent is node_added for node <prefix><i> (one artifact,
// types/<prefix><i>_<hash>.go), the events round the four levels.
func regionEvent(prefix string) func(int) *nats.Msg {
	return func(i int) *nats.Msg {
		msg := nats.NewMsg(wire.ChangeSubject(wire.Priorities[i%len(wire.Priorities)], wire.NodeAdded))
		id := fmt.Sprintf("ev-%s-%d", prefix, i)
		msg.Data = fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":"http://example.org/fault/%s%d",`+
			`"properties":{"rdfs:comment":"node %s%d"}}`, id, prefix, i, prefix, i)
		msg.Header.Set(nats.MsgIdHdr, id)
		return msg
	}
}

// publishBoth publishes events [0, n) in both regions at once; east's
// count in east.acked.
func publishBoth(t *testing.T, east, west *region, n int) {
	t.Helper()
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	errs := make(chan error, 1)
	go func() { errs <- publishRangeOf(ctx, east.js, regionEvent(east.prefix), 0, n) }()
	west.publish(t, 0, n)
	if err := <-errs; err != nil {
		t.Fatalf("publish in east: %v", err)
	}
	east.acked.Add(int64(n))
}

// publisher is a paced publish running in a goroutine.
type publisher struct {
	done chan error // receives the publish's outcome, once
}

// paced publishes the region's events [from, to) in chunks of 10 every
// 50ms (200 events/s), each chunk retried until acknowledged or ctx ends
// (the region's servers may be down), counting the acknowledged events
// in r.acked.
func (r *region) paced(ctx context.Context, from, to int) publisher {
	p := publisher{done: make(chan error, 1)}
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for lo := from; lo < to; lo += 10 {
			hi := min(lo+10, to)
			if err := publishChunk(ctx, r.js, regionEvent(r.prefix), lo, hi); err != nil {
				p.done <- err
				return
			}
			r.acked.Add(int64(hi - lo))
			select {
			case <-tick.C:
			case <-ctx.Done():
				p.done <- ctx.Err()
				return
			}
		}
		p.done <- nil
	}()
	return p
}

// publish publishes the region's events [from, to) in the region.
func (r *region) publish(t *testing.T, from, to int) {
	t.Helper()
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	if err := publishRangeOf(ctx, r.js, regionEvent(r.prefix), from, to); err != nil {
		t.Fatalf("publish in %s: %v", r.name, err)
	}
}

var regionArtifactRE = regexp.MustCompile(`^([a-z])(\d+)_[0-9a-f]+\.go$`)

// artifacts counts the artifacts under the region's root by the prefix
// of their node ("e", "w").
func (r *region) artifacts() map[string]int {
	out := map[string]int{}
	entries, _ := os.ReadDir(filepath.Join(r.root, "types"))
	for _, e := range entries {
		if m := regionArtifactRE.FindStringSubmatch(e.Name()); m != nil {
			out[m[1]]++
		}
	}
	return out
}

// complete reports whether the region holds want artifacts per prefix
// and its REGEN_CHANGES is drained.
func (r *region) complete(want map[string]int) bool {
	return maps.Equal(r.artifacts(), want) && drained(r.js)
}

// TestRegions: two regions (JetStream domains east and west, west's
// servers leafnodes of east's), each with its own REGEN_INGEST, a
// REGEN_CHANGES sourcing both ingest streams, two replicas and a deploy
// root. Events are published in both, east's still being published when
// every server of east is killed with -9 mid-run. West must keep
// deploying its own events, including ones published during the outage;
// once east is back (its publisher retrying what the kill cut off),
// both regions must hold every event's artifact, the same bytes, each
// deployed once per region.
func TestRegions(t *testing.T) {
	n := envInt(t, "FAULT_REGION_EVENTS", 1000)
	servers := envInt(t, "FAULT_REGION_SERVERS", 3)
	figure(t, "servers_per_region", servers)
	figure(t, "events_per_region", 2*n)
	begin := time.Now()
	east, west := startRegions(t, servers)
	east.startReplicas(t, west.name)
	west.startReplicas(t, east.name)
	for _, r := range []*region{east, west} {
		waitProvisioned(t, r.js)
		r.waitSourcing(t)
	}
	figure(t, "seconds_to_provisioned", time.Since(begin).Seconds())
	publishBoth(t, east, west, n)
	ctx, cancel := ctxFor(3 * time.Minute)
	defer cancel()
	eastPub := east.paced(ctx, n, 2*n)
	testkit.WaitFor(t, time.Minute, "east mid-publish", func() bool { return east.acked.Load() >= int64(n+n/2) })
	killed, out := regionOutage(t, east, west, n)
	east.start(t)
	back := time.Now()
	figure(t, "seconds_outage", back.Sub(killed).Seconds())
	if err := <-eastPub.done; err != nil {
		t.Fatalf("publish in east: %v", err)
	}
	figure(t, "east_seconds_to_publish_the_rest_after_return", time.Since(back).Seconds())
	afterReturn(t, east, west, n, back)
	complete := time.Since(back)
	dupes := checkRegions(t, east, west, 4*n)
	t.Logf("REGIONS: %d server(s) per region, %d events; east killed %.1fs, %d of its events published after it; "+
		"west deployed %d of its own during the outage, %d of east's only after; both complete %.1fs after east returned; 0 lost, %d deployed twice",
		servers, 4*n, back.Sub(killed).Seconds(), 2*n-out.eastAcked, out.ownDeployed, 2*n-out.eastInWest, complete.Seconds(), dupes)
}

// outage is what regionOutage saw.
type outage struct {
	eastAcked   int // east's events acknowledged before the kill
	ownDeployed int // west's own events deployed with east down
	eastInWest  int // east's events west deployed by the end of the outage
}

// regionOutage kills east, checks that west deploys its own events
// (n before and n published during the outage) with east down, and
// returns when east was killed and what west did meanwhile.
func regionOutage(t *testing.T, east, west *region, n int) (time.Time, outage) {
	t.Helper()
	atKill := west.artifacts()
	east.kill()
	killed := time.Now()
	out := outage{eastAcked: int(east.acked.Load())}
	figure(t, "east_deployed_at_kill", sum(east.artifacts()))
	figure(t, "east_events_acked_at_kill", out.eastAcked)
	figure(t, "west_own_deployed_at_kill", atKill["w"])
	figure(t, "west_east_events_deployed_at_kill", atKill["e"])
	west.publish(t, n, 2*n)
	if !poll(2*time.Minute, func() bool { return west.artifacts()["w"] == 2*n }) {
		t.Fatalf("west with east down: artifacts %v, want w=%d; REGEN_CHANGES %s; consumer %+v",
			west.artifacts(), 2*n, west.sourcing(), ciSummary(consumerInfo(west.js)))
	}
	out.ownDeployed = 2*n - atKill["w"]
	figure(t, "west_own_deployed_during_outage", out.ownDeployed)
	figure(t, "west_seconds_to_own_events_during_outage", time.Since(killed).Seconds())
	figure(t, "west_own_events_per_second_during_outage", rate(out.ownDeployed, time.Since(killed)))
	testkit.WaitFor(t, time.Minute, "west drained with east down", func() bool { return drained(west.js) })
	// What west holds of east's events now is what it had sourced
	// before the kill.
	out.eastInWest = west.artifacts()["e"]
	figure(t, "west_east_events_deployed_with_east_down", out.eastInWest-atKill["e"])
	return killed, out
}

// afterReturn waits until each region's REGEN_CHANGES has every event
// (east's own, sourced again from its REGEN_INGEST, and the peer's) and
// both regions hold every artifact with REGEN_CHANGES drained, timing
// each from back. West's source of east resumes at its next retry: the
// server backs off 10s more per failed attempt, up to 2 minutes.
func afterReturn(t *testing.T, east, west *region, n int, back time.Time) {
	t.Helper()
	for _, r := range []*region{east, west} {
		testkit.WaitFor(t, 3*time.Minute, r.name+" sources every event", func() bool {
			si := streamInfo(r.js, wire.ChangesStream)
			return si != nil && si.State.LastSeq >= uint64(4*n)
		})
		figure(t, r.name+"_seconds_to_source_every_event", time.Since(back).Seconds())
	}
	want := map[string]int{"e": 2 * n, "w": 2 * n}
	for _, r := range []*region{west, east} {
		if !poll(3*time.Minute, func() bool { return r.complete(want) }) {
			t.Fatalf("%s after the outage: artifacts %v, want %v; consumer %+v", r.name, r.artifacts(), want, ciSummary(consumerInfo(r.js)))
		}
		figure(t, r.name+"_seconds_to_complete_after_return", time.Since(back).Seconds())
	}
}

func sum(m map[string]int) int {
	total := 0
	for _, v := range m {
		total += v
	}
	return total
}

// checkRegions checks each region for duplicate deploys (its own
// REGEN_TELEMETRY: telemetry does not cross regions) and dead letters,
// and that both deployed the same files with the same bytes; it returns
// the duplicates of both regions.
func checkRegions(t *testing.T, east, west *region, total int) int {
	t.Helper()
	all := 0
	for _, r := range []*region{east, west} {
		all += countDuplicates(t, r.js, total, r.name+"_")
		checkDLQEmpty(t, r.js)
	}
	e, w := treeDigests(t, east.root), treeDigests(t, west.root)
	if !maps.Equal(e, w) || len(e) != total {
		t.Errorf("the regions' trees differ: east %d files, west %d, want %d each, same bytes", len(e), len(w), total)
	}
	return all
}

// treeDigests maps every file under root/types to its SHA-256.
func treeDigests(t *testing.T, root string) map[string][sha256.Size]byte {
	t.Helper()
	out := map[string][sha256.Size]byte{}
	dir := filepath.Join(root, "types")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}
