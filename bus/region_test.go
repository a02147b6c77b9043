package bus_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// regionServer starts a JetStream server of domain name and returns
// its JetStream and its leafnode port (0 without one): listen opens a
// leafnode port; hub, when set, is the leafnode URL of the region it
// joins, and regionServer waits until it is connected (a source whose
// peer cannot answer waits for its consumer past the server's shutdown,
// which goleak would see).
func regionServer(t *testing.T, name string, listen bool, hub *url.URL) (jetstream.JetStream, int) {
	t.Helper()
	opts := &server.Options{JetStream: true, JetStreamDomain: name, ServerName: name}
	if listen {
		opts.LeafNode = server.LeafNodeOpts{Host: "127.0.0.1", Port: -1}
	}
	if hub != nil {
		opts.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: []*url.URL{hub},
			DenyImports: bus.RegionLocalSubjects, DenyExports: bus.RegionLocalSubjects}}
	}
	srv := testkit.StartNATS(t, opts)
	if hub != nil {
		testkit.WaitFor(t, 10*time.Second, name+" joined its hub", func() bool { return srv.NumLeafNodes() == 1 })
	}
	_, js := testkit.Client(t, srv.ClientURL())
	return js, opts.LeafNode.Port // the port the server chose
}

func provisionRegion(t *testing.T, js jetstream.JetStream, name string, peers ...string) {
	t.Helper()
	cfg := bus.ProvisionConfig{Region: name, Peers: peers, Levels: wire.Priorities}
	if err := bus.Provision(testkit.Context(t, 30*time.Second), js, cfg); err != nil {
		t.Fatalf("provision %s: %v", name, err)
	}
}

func publishChange(t *testing.T, js jetstream.JetStream, id string, typ wire.ChangeType) *jetstream.PubAck {
	t.Helper()
	msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, typ))
	msg.Data = []byte(`{"id":"` + id + `"}`)
	msg.Header.Set(nats.MsgIdHdr, id)
	ack, err := js.PublishMsg(testkit.Context(t, 10*time.Second), msg)
	if err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
	return ack
}

func changesMsgs(js jetstream.JetStream) uint64 { return streamMsgs(js, wire.ChangesStream) }

func streamMsgs(js jetstream.JetStream, name string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	si, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return si.State.Msgs
}

func TestRegionPublishesLandInTheIngestStreamAndReachTheWorkQueue(t *testing.T) {
	t.Parallel()
	js, _ := regionServer(t, "east", false, nil)
	provisionRegion(t, js, "east")
	if ack := publishChange(t, js, "e1", wire.NodeAdded); ack.Stream != bus.IngestStream {
		t.Fatalf("publish stored in %s, want %s", ack.Stream, bus.IngestStream)
	}
	testkit.WaitFor(t, 10*time.Second, "the event in REGEN_CHANGES", func() bool { return changesMsgs(js) == 1 })
	provisionRegion(t, js, "east") // idempotent
	c, err := js.Consumer(testkit.Context(t, 5*time.Second), wire.ChangesStream,
		bus.LevelConsumer(wire.ConsumerDefault, wire.PriorityNormal))
	if err != nil {
		t.Fatal(err)
	}
	if ci := c.CachedInfo(); ci.NumPending != 1 {
		t.Fatalf("normal level consumer: %d pending, want 1", ci.NumPending)
	}
}

func TestRegionSourcesItsPeersIngestAcrossALeafnode(t *testing.T) {
	t.Parallel()
	east, port := regionServer(t, "east", true, nil)
	west, _ := regionServer(t, "west", false, &url.URL{Scheme: "nats-leaf", Host: "127.0.0.1:" + strconv.Itoa(port)})
	provisionRegion(t, east, "east", "west")
	provisionRegion(t, west, "west", "east")
	publishChange(t, west, "w1", wire.NodeAdded)
	publishChange(t, west, "w-stale", wire.ArtifactStale)
	publishChange(t, east, "e1", wire.NodeAdded)
	testkit.WaitFor(t, 30*time.Second, "west: its two events and east's", func() bool { return changesMsgs(west) == 3 })
	testkit.WaitFor(t, 30*time.Second, "east: its event and west's node_added", func() bool { return changesMsgs(east) == 2 })
	publishChange(t, west, "w1", wire.NodeAdded) // a retried publish: deduplicated
	publishChange(t, west, "w2", wire.NodeAdded)
	testkit.WaitFor(t, 30*time.Second, "east: w2 once", func() bool { return changesMsgs(east) == 3 })
	if n := changesMsgs(west); n != 4 {
		t.Fatalf("west REGEN_CHANGES: %d messages, want 4", n)
	}
	// Each region's publishes stay in its own ingest stream: they cross
	// the leafnode only by sourcing.
	if e, w := streamMsgs(east, bus.IngestStream), streamMsgs(west, bus.IngestStream); e != 1 || w != 3 {
		t.Fatalf("REGEN_INGEST: east %d, west %d messages; want 1 and 3", e, w)
	}
}

func TestRegionProvisionMigratesASingleRegionDeployment(t *testing.T) {
	t.Parallel()
	js, _ := regionServer(t, "east", false, nil)
	if err := bus.Provision(testkit.Context(t, 30*time.Second), js, bus.ProvisionConfig{Levels: wire.Priorities}); err != nil {
		t.Fatal(err)
	}
	if ack := publishChange(t, js, "before", wire.NodeAdded); ack.Stream != wire.ChangesStream {
		t.Fatalf("one region: publish stored in %s", ack.Stream)
	}
	provisionRegion(t, js, "east")
	if ack := publishChange(t, js, "after", wire.NodeAdded); ack.Stream != bus.IngestStream {
		t.Fatalf("in a region: publish stored in %s, want %s", ack.Stream, bus.IngestStream)
	}
	testkit.WaitFor(t, 10*time.Second, "both events in REGEN_CHANGES", func() bool { return changesMsgs(js) == 2 })
}
