package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// Acks one at a time (each burst ends the publisher), then from many
// goroutines at once, are each confirmed exactly once, and the consumer
// has nothing pending afterwards.
func TestAcksFromManyGoroutinesAreEachConfirmedOnce(t *testing.T) {
	t.Parallel()
	ctx, js, msgs := fetchedN(t, 300, bus.SourceConfig{})
	for _, m := range msgs[:50] {
		if err := bus.AckAndWait(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	msgs = msgs[50:]
	calls := make([]int, len(msgs))
	var mu sync.Mutex
	var confirmed, workers sync.WaitGroup
	confirmed.Add(len(msgs))
	for w := range 16 {
		workers.Go(func() {
			for i := w; i < len(msgs); i += 16 {
				msgs[i].Ack(func(err error) {
					if err != nil {
						t.Errorf("ack %d: %v", i, err)
					}
					mu.Lock()
					calls[i]++
					mu.Unlock()
					confirmed.Done()
				})
			}
		})
	}
	workers.Wait()
	confirmed.Wait()
	for i, n := range calls {
		if n != 1 {
			t.Fatalf("ack %d: done called %d times", i, n)
		}
	}
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{AsyncAck: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := src.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("pending after confirmed acks = %d, %v", n, err)
	}
}

// Acking a message twice is confirmed twice: the server treats an ack of
// a message no longer pending as done (so a retried ack is safe).
func TestSecondAckIsConfirmedToo(t *testing.T) {
	t.Parallel()
	ctx, _, msgs := fetchedN(t, 1, bus.SourceConfig{})
	for i := range 2 {
		if err := bus.AckAndWait(ctx, msgs[0]); err != nil {
			t.Fatalf("ack %d: %v", i+1, err)
		}
	}
}

// An ack whose consumer is gone is refused at once (no responders), not
// left to time out.
func TestAckToADeletedConsumerFails(t *testing.T) {
	t.Parallel()
	ctx, js, msgs := fetchedN(t, 1, bus.SourceConfig{AckTimeout: time.Minute})
	if err := js.DeleteConsumer(ctx, wire.ChangesStream, wire.ConsumerDefault); err != nil {
		t.Fatal(err)
	}
	if err := bus.AckAndWait(ctx, msgs[0]); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("ack after the consumer was deleted: %v, want no responders", err)
	}
}

// The stream sequence and delivery count a Message reports agree with
// nats.go's Metadata on real deliveries, redeliveries included.
func TestAckNumbersAgreeWithMetadata(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	publishN(t, js, 3)
	ctx := testkit.Context(t, 30*time.Second)
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, wire.ChangesStream, wire.ConsumerDefault)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64]bool{}
	for round := range 2 { // the second round is a redelivery
		msgs, err := src.Fetch(ctx, 3, time.Second)
		if err != nil || len(msgs) != 3 {
			t.Fatalf("round %d: fetch %d, %v", round, len(msgs), err)
		}
		for _, m := range msgs {
			if m.Deliveries() != uint64(round+1) || m.Seq() == 0 {
				t.Fatalf("round %d: seq %d deliveries %d", round, m.Seq(), m.Deliveries())
			}
			seqs[m.Seq()] = true
			if err := m.Nak(0); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw, err := cons.Fetch(3, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range raw.Messages() {
		md, err := m.Metadata()
		if err != nil || md.NumDelivered != 3 || !seqs[md.Sequence.Stream] {
			t.Fatalf("metadata %+v, %v; sequences seen %v", md, err, seqs)
		}
		n++
	}
	if n != 3 || len(seqs) != 3 {
		t.Fatalf("%d raw deliveries, %d sequences; want 3 and 3", n, len(seqs))
	}
}

// fetchedN publishes n events to a fresh server and fetches them (unacked)
// through a Source with cfg.
func fetchedN(t *testing.T, n int, cfg bus.SourceConfig) (context.Context, jetstream.JetStream, []wire.Message) {
	t.Helper()
	_, _, js := provisioned(t)
	publishN(t, js, n)
	ctx := testkit.Context(t, 30*time.Second)
	src, err := bus.NewSource(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := src.Fetch(ctx, n, time.Second)
	if err != nil || len(msgs) != n {
		t.Fatalf("fetch: %d, %v", len(msgs), err)
	}
	return ctx, js, msgs
}
