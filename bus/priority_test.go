package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/orchestrator"
)

// A bus.Source is the LevelSource of one priority level.
var _ orchestrator.LevelSource = (*bus.Source)(nil)

func levels() []wire.Priority { return orchestrator.Levels[:] }

// publishAt publishes n events of priority p, ids <p>-<i>.
func publishAt(t *testing.T, js jetstream.JetStream, p wire.Priority, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%d", p, i)
		msg := nats.NewMsg(wire.ChangeSubject(p, wire.NodeAdded))
		msg.Data = fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":"urn:%s"}`, id, id)
		msg.Header.Set(nats.MsgIdHdr, id)
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
}

func prioritySource(t *testing.T, ctx context.Context, js jetstream.JetStream, cfg orchestrator.PriorityConfig) *orchestrator.PrioritySource {
	t.Helper()
	if err := bus.ProvisionLevels(ctx, js, bus.ProvisionConfig{}, levels()); err != nil {
		t.Fatal(err)
	}
	srcs, err := bus.NewLevelSources(ctx, js, bus.SourceConfig{}, levels())
	if err != nil {
		t.Fatal(err)
	}
	var ls [len(orchestrator.Levels)]orchestrator.LevelSource
	for i, s := range srcs {
		ls[i] = s
	}
	ps, err := orchestrator.NewPrioritySource(ls, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// drain fetches and acks until nothing is left, counting deliveries per
// event id.
func drain(t *testing.T, ctx context.Context, src orchestrator.Source, seen map[string]int) {
	t.Helper()
	for {
		msgs, err := src.Fetch(ctx, 16, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			ev, err := wire.DecodeChangeEvent(m.Data(), wire.MaxPayloadDefault)
			if err != nil {
				t.Fatal(err)
			}
			seen[ev.ID]++
			if err := bus.AckAndWait(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Events pending, and delivered but unacked, on the single consumer are
// each processed once by the level consumers after the migration; a
// second migration (another replica starting) changes nothing.
func TestProvisionLevelsMigratesWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	for _, p := range levels() {
		publishAt(t, js, p, 10)
	}
	old, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := old.Fetch(ctx, 15, time.Second); err != nil || len(msgs) != 15 {
		t.Fatalf("old consumer: %d msgs, %v", len(msgs), err) // left unacked: the old replica stopped
	}
	ps := prioritySource(t, ctx, js, orchestrator.PriorityConfig{})
	if err := bus.ProvisionLevels(ctx, js, bus.ProvisionConfig{}, levels()); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if _, err := js.Consumer(ctx, wire.ChangesStream, wire.ConsumerDefault); err == nil {
		t.Fatal("the single consumer is still there")
	}
	seen := map[string]int{}
	drain(t, ctx, ps, seen)
	if len(seen) != 40 {
		t.Fatalf("%d distinct events processed, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s processed %d times", id, n)
		}
	}
}

// Behind 2,000 low events, 50 critical ones are all fetched while most
// low ones are still pending.
func TestLevelConsumersServeCriticalFirst(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 60*time.Second)
	ps := prioritySource(t, ctx, js, orchestrator.PriorityConfig{})
	publishAt(t, js, wire.PriorityLow, 2000)
	publishAt(t, js, wire.PriorityCritical, 50)
	critical, low := 0, 0
	for critical < 50 {
		msgs, err := ps.Fetch(ctx, 16, 20*time.Millisecond)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("fetch: %d msgs, %v", len(msgs), err)
		}
		for _, m := range msgs {
			if m.Subject() == wire.ChangeSubject(wire.PriorityCritical, wire.NodeAdded) {
				critical++
			} else {
				low++
			}
			if err := bus.AckAndWait(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if low > 500 {
		t.Fatalf("%d low events done before the 50 critical ones, want most of 2,000 still pending", low)
	}
	if n, err := ps.Pending(ctx); err != nil || n != uint64(2000-low) {
		t.Fatalf("pending = %d, %v; want %d", n, err, 2000-low)
	}
}

// A level consumer's sweep moves only its own level's given-up messages:
// another level's event below its ack floor is left alone.
func TestSweepOfALevelConsumerKeepsOtherLevels(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	cfg := bus.ProvisionConfig{MaxDeliver: 1}
	if err := bus.Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if err := bus.ProvisionLevels(ctx, js, cfg, levels()); err != nil {
		t.Fatal(err)
	}
	publishAt(t, js, wire.PriorityCritical, 1) // seq 1, never delivered
	publishAt(t, js, wire.PriorityLow, 1)      // seq 2, given up
	low := bus.LevelConsumer(wire.ConsumerDefault, wire.PriorityLow)
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{Consumer: low})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fetchN(t, src, 1) {
		_ = m.Nak(0)
	}
	cons, _ := js.Consumer(ctx, wire.ChangesStream, low)
	testkit.WaitFor(t, 10*time.Second, "low event given up", func() bool {
		_, _ = src.Fetch(ctx, 1, 10*time.Millisecond)
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0
	})
	n, err := bus.NewReaper(nc, js, bus.ReaperConfig{Consumer: low}).Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep moved %d, %v; want the low event", n, err)
	}
	st, _ := js.Stream(ctx, wire.ChangesStream)
	if _, err := st.GetMsg(ctx, 1); err != nil {
		t.Fatalf("the critical event left the work queue: %v", err)
	}
}

// With per-level consumers nothing delivers an event of an unknown
// priority; the stray sweep dead-letters it with the reason, and leaves
// every level's events.
func TestSweepStraysDeadLettersUnknownPriorities(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.ProvisionLevels(ctx, js, bus.ProvisionConfig{}, levels()); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(levels(), "urgent", "Critical") {
		publishAt(t, js, p, 2)
	}
	n, err := bus.SweepStrays(ctx, js, bus.NewDeadLetters(js))
	if err != nil || n != 4 {
		t.Fatalf("moved %d, %v; want 4", n, err)
	}
	list := deadLetters(t, bus.NewDeadLetters(js))
	if len(list) != 4 {
		t.Fatalf("%d dead letters, want 4", len(list))
	}
	for _, dl := range list {
		if dl.Reason != wire.ReasonBadNATSSubject {
			t.Errorf("%s: reason %q", dl.ID, dl.Reason)
		}
	}
	st, _ := js.Stream(ctx, wire.ChangesStream)
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != 8 {
		t.Fatalf("work queue holds %v msgs (%v), want the 8 of the levels", info.State.Msgs, err)
	}
}

// Provision with Levels moves to the level consumers (replicas starting
// together), and without moves back to the single one.
func TestProvisionSwitchesConsumerLayouts(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	ctx := testkit.Context(t, 30*time.Second)
	errs := make(chan error, 3)
	for range 3 {
		_, js := testkit.Connect(t, s)
		go func() { errs <- bus.Provision(ctx, js, bus.ProvisionConfig{Levels: levels()}) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent provision with levels: %v", err)
		}
	}
	_, js := testkit.Connect(t, s)
	names := func() map[string]bool {
		st, err := js.Stream(ctx, wire.ChangesStream)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for n := range st.ConsumerNames(ctx).Name() {
			out[n] = true
		}
		return out
	}
	if got := names(); len(got) != 4 || !got["regen-workers-critical"] || !got["regen-workers-low"] {
		t.Fatalf("consumers %v, want the four levels'", got)
	}
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 1 || !got[wire.ConsumerDefault] {
		t.Fatalf("consumers %v, want the single one", got)
	}
}

// Pausing a level stops it on every replica at once (the pause is the
// consumer's), the other levels going on; resuming restarts it.
func TestPauseLevelStopsItOnEveryReplica(t *testing.T) {
	t.Parallel()
	s, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	replicas := []*orchestrator.PrioritySource{prioritySource(t, ctx, js, orchestrator.PriorityConfig{})}
	_, js2 := testkit.Connect(t, s)
	replicas = append(replicas, prioritySource(t, ctx, js2, orchestrator.PriorityConfig{}))
	if _, err := bus.PauseLevel(ctx, js, wire.ConsumerDefault, wire.PriorityLow, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if paused, err := bus.LevelPaused(ctx, js, wire.ConsumerDefault, wire.PriorityLow); err != nil || !paused {
		t.Fatalf("paused = %v, %v", paused, err)
	}
	publishAt(t, js, wire.PriorityLow, 5)
	publishAt(t, js, wire.PriorityHigh, 5)
	seen := map[string]int{}
	for _, r := range replicas {
		drain(t, ctx, r, seen)
	}
	if len(seen) != 5 || seen["high-0"] != 1 || seen["low-0"] != 0 {
		t.Fatalf("while low is paused the replicas processed %v, want the 5 high events only", seen)
	}
	if err := bus.ResumeLevel(ctx, js, wire.ConsumerDefault, wire.PriorityLow); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "low events after the resume", func() bool {
		for _, r := range replicas {
			drain(t, ctx, r, seen)
		}
		return len(seen) == 10
	})
}
