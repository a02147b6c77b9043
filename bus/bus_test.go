package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

func provisioned(t *testing.T) (*testkit.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	if err := bus.Provision(testkit.Context(t, 30*time.Second), js, bus.ProvisionConfig{ObjectStore: "OUT"}); err != nil {
		t.Fatal(err)
	}
	return s, nc, js
}

func TestProvisionIsIdempotentUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		_, js := testkit.Connect(t, s)
		wg.Go(func() {
			errs <- bus.Provision(context.Background(), js, bus.ProvisionConfig{ObjectStore: "OUT"})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent provision: %v", err)
		}
	}
}

func TestProvisionAppliesAChangedConfig(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	_, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	first := bus.ProvisionConfig{ObjectStore: "OUT", TelemetryMaxAge: time.Hour, ReplicaTTL: time.Minute}
	if err := bus.Provision(ctx, js, first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.TelemetryMaxAge, again.ReplicaTTL = 2*time.Hour, 2*time.Minute
	if err := bus.Provision(ctx, js, again); err != nil {
		t.Fatalf("provision with a changed config: %v", err)
	}
	tel, err := js.Stream(ctx, wire.TelemetryStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := tel.CachedInfo().Config.MaxAge; got != 2*time.Hour {
		t.Fatalf("telemetry max age = %s, want 2h", got)
	}
	kv, err := js.KeyValue(ctx, wire.ReplicasBucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 2*time.Minute {
		t.Fatalf("replicas bucket TTL = %s, want 2m", st.TTL())
	}
}

func publishN(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	for i := range n {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = fmt.Appendf(nil, `{"id":"e%d","change_type":"node_added","subject":"urn:n%d"}`, i, i)
		msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("e%d", i))
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSourceFetchAckAndPending(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	publishN(t, js, 10)
	publishN(t, js, 10) // duplicates: dropped by the dedupe window
	ctx := testkit.Context(t, 30*time.Second)
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := src.Pending(ctx); n != 10 {
		t.Fatalf("pending = %d, want 10 (dedupe)", n)
	}
	msgs, err := src.Fetch(ctx, 100, 200*time.Millisecond)
	if err != nil || len(msgs) != 10 {
		t.Fatalf("fetch: %d msgs, %v", len(msgs), err)
	}
	if msgs[0].Seq() == 0 || msgs[0].Deliveries() != 1 {
		t.Fatalf("metadata: seq=%d deliveries=%d", msgs[0].Seq(), msgs[0].Deliveries())
	}
	for _, m := range msgs {
		if err := bus.AckAndWait(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := src.Pending(ctx); n != 0 {
		t.Fatalf("pending after ack = %d", n)
	}
	empty, err := src.Fetch(ctx, 10, 50*time.Millisecond)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty fetch: %d, %v", len(empty), err)
	}
}

func TestDeadLetterListReplayPurge(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	publishN(t, js, 3)
	ctx := testkit.Context(t, 30*time.Second)
	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
	var msgs []wire.Message
	testkit.WaitFor(t, 10*time.Second, "three messages fetched", func() bool {
		more, _ := src.Fetch(ctx, 3-len(msgs), 100*time.Millisecond)
		msgs = append(msgs, more...)
		return len(msgs) == 3
	})
	dlq := bus.NewDeadLetters(js)
	for _, m := range msgs {
		if err := dlq.DeadLetter(ctx, m, "test_reason", errors.New("boom\nline")); err != nil {
			t.Fatal(err)
		}
		_ = m.Term("test_reason")
	}
	// A second copy of the same delivery is deduplicated.
	_ = dlq.DeadLetter(ctx, msgs[0], "test_reason", nil)
	list := deadLetters(t, dlq)
	if len(list) != 3 {
		t.Fatalf("list: %d", len(list))
	}
	dl := list[0]
	if dl.ID != "e0" || dl.Reason != "test_reason" || dl.Error != "boom line" || dl.ChangeType != "node_added" ||
		dl.Deliveries != 1 || dl.OriginalSubject != "regen.changes.normal.node_added" || dl.DeadAt.IsZero() ||
		dl.MsgID != "e0" || dl.Truncated || dl.Size != len(dl.Data) {
		t.Fatalf("dead letter = %+v", dl)
	}
	n, err := dlq.Replay(ctx, func(d bus.DeadLetter) bool { return d.ID == "e1" })
	if err != nil || n != 1 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	if p, _ := src.Pending(ctx); p != 1 {
		t.Fatalf("replayed event not back in the work queue: pending %d", p)
	}
	if list = deadLetters(t, dlq); len(list) != 2 {
		t.Fatalf("replayed dead letter not removed: %d left", len(list))
	}
	if err := dlq.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if list = deadLetters(t, dlq); len(list) != 0 {
		t.Fatalf("purge left %d", len(list))
	}
}

func TestTelemetryReachesSubscribersAndStream(t *testing.T) {
	t.Parallel()
	_, nc, js := provisioned(t)
	got := make(chan *nats.Msg, 1)
	sub, err := nc.ChanSubscribe("telemetry.*", got)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	tel := bus.NewTelemetry(nc, "r1")
	if err := tel.Publish(wire.TelemetryEvent{Type: wire.PerformanceMetric, Component: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := tel.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Subject != "telemetry.performance_metric" {
			t.Fatal(m.Subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no telemetry")
	}
	testkit.WaitFor(t, 5*time.Second, "telemetry stored", func() bool {
		st, _ := js.Stream(context.Background(), wire.TelemetryStream)
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs == 1
	})
}

func TestEmbeddedRestartKeepsStreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := testkit.StartServerAt(t, dir, "127.0.0.1:-1")
	_, js := testkit.Connect(t, s)
	if err := bus.Provision(context.Background(), js, bus.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, 5)
	s.Stop()
	s2 := testkit.StartServerAt(t, dir, "127.0.0.1:-1")
	_, js2 := testkit.Connect(t, s2)
	src, err := bus.NewSource(context.Background(), js2, bus.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := src.Pending(context.Background()); n != 5 {
		t.Fatalf("after restart pending = %d, want 5", n)
	}
}

func TestReaperMovesExhaustedMessagesToTheDLQ(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	cfg := bus.ProvisionConfig{MaxDeliver: 2, AckWait: time.Second}
	if err := bus.Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	publishN(t, js, 3)
	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
	// e0 is acked; e1 and e2 are nak'ed until their deliveries run out.
	for round := 0; round < 2; round++ {
		msgs, err := src.Fetch(ctx, 3, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Seq() == 1 {
				_ = bus.AckAndWait(ctx, m)
			} else {
				_ = m.Nak(0)
			}
		}
	}
	reaped := make(chan uint64, 10)
	r := bus.NewReaper(nc, js, bus.ReaperConfig{Every: 50 * time.Millisecond, OnReap: func(seq uint64) { reaped <- seq }})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	// The advisory fires when the server would deliver a third time; the
	// sweep catches whatever the advisory missed.
	_, _ = src.Fetch(ctx, 3, 200*time.Millisecond)
	got := map[uint64]bool{}
	for len(got) < 2 {
		select {
		case seq := <-reaped:
			got[seq] = true
		case <-ctx.Done():
			t.Fatalf("reaped %v, want seqs 2 and 3", got)
		}
	}
	list := deadLetters(t, bus.NewDeadLetters(js))
	if len(list) != 2 || list[0].Reason != wire.ReasonMaxDeliveries {
		t.Fatalf("dlq = %+v", list)
	}
	testkit.WaitFor(t, 5*time.Second, "work queue empty", func() bool {
		st, _ := js.Stream(ctx, wire.ChangesStream)
		info, err := st.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
}

// exhaust publishes payloads and nacks each one's only delivery
// (MaxDeliver 1), so the consumer gives them all up.
func exhaust(t *testing.T, js jetstream.JetStream, payloads ...[]byte) {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	for i, p := range payloads {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = p
		msg.Header.Set(nats.MsgIdHdr, fmt.Sprint("x", i))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
	for _, m := range fetchN(t, src, len(payloads)) {
		_ = m.Nak(0)
	}
	cons, _ := js.Consumer(ctx, wire.ChangesStream, wire.ConsumerDefault)
	testkit.WaitFor(t, 10*time.Second, "every message given up", func() bool {
		_, _ = src.Fetch(ctx, 1, 10*time.Millisecond) // the server gives up a message when it would redeliver it
		ci, err := cons.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumPending == 0
	})
}

// A message the DLQ refuses (here: too big for what is left of it) does
// not stop the sweep: the ones after it are moved, it stays in the work
// queue, and the error counts it.
func TestSweepContinuesPastAFailingMessage(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{MaxDeliver: 1, DLQMaxBytes: 4096}); err != nil {
		t.Fatal(err)
	}
	exhaust(t, js, eventOf("s1", 0), eventOf("s2", 5000), eventOf("s3", 0))
	r := bus.NewReaper(nc, js, bus.ReaperConfig{})
	n, err := r.Sweep(ctx)
	var se *bus.SweepError
	if n != 2 || !errors.As(err, &se) || se.Failed != 1 || !strings.Contains(err.Error(), "seq 2") {
		t.Fatalf("sweep: moved %d, %v; want 2 moved and seq 2 reported", n, err)
	}
	var ids []string
	for _, dl := range deadLetters(t, bus.NewDeadLetters(js)) {
		ids = append(ids, dl.ID)
	}
	if fmt.Sprint(ids) != "[s1 s3]" {
		t.Fatalf("dead letters %v, want [s1 s3]", ids)
	}
	st, _ := js.Stream(ctx, wire.ChangesStream)
	if _, err := st.GetMsg(ctx, 2); err != nil {
		t.Fatalf("the refused message left the work queue: %v", err)
	}
}

// The reaper warns while the DLQ is at or over the alert ratio of a limit.
func TestReaperAlertsNearTheDLQLimit(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{DLQMaxMsgs: 4}); err != nil {
		t.Fatal(err)
	}
	dlq := bus.NewDeadLetters(js)
	for i := range 3 {
		if err := dlq.DeadLetter(ctx, &fakeMsg{seq: uint64(i + 1), data: eventOf("a", 0)}, "r", nil); err != nil {
			t.Fatal(err)
		}
	}
	alerts := make(chan bus.DLQUsage, 10)
	r := bus.NewReaper(nc, js, bus.ReaperConfig{Every: 20 * time.Millisecond, AlertRatio: 0.75,
		OnDLQNearLimit: func(u bus.DLQUsage) {
			select {
			case alerts <- u:
			default:
			}
		}})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	select {
	case u := <-alerts:
		if u.Msgs != 3 || u.MaxMsgs != 4 || u.Ratio() != 0.75 {
			t.Fatalf("usage = %+v", u)
		}
		ev := bus.DLQNearLimitEvent(u, 0.75)
		if d, _ := ev.Data.(wire.DLQNearLimitData); d.Rule != bus.RuleDLQNearLimit || d.Msgs != 3 {
			t.Fatalf("alert = %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no dlq_near_limit alert")
	}
}
