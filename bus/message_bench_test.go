package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// BenchmarkAck measures confirmed acks of fetched messages on an embedded
// server, from 1 and from 64 goroutines at once (as a cycle's workers
// ack): regen's Message.Ack (one confirmation subscription per
// connection) against nats.go's DoubleAck (a request per ack), the way
// regen acked before.
func BenchmarkAck(b *testing.B) {
	for _, workers := range []int{1, 64} {
		b.Run(fmt.Sprintf("regen/workers=%d", workers), func(b *testing.B) {
			msgs := fetchedMessages(b, b.N)
			b.ResetTimer()
			runAcks(b, msgs, workers, func(m wire.Message, done func(error)) { m.Ack(done) })
		})
		b.Run(fmt.Sprintf("doubleack/workers=%d", workers), func(b *testing.B) {
			msgs := fetchedRaw(b, b.N)
			b.ResetTimer()
			runAcks(b, msgs, workers, func(m jetstream.Msg, done func(error)) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				done(m.DoubleAck(ctx))
			})
		})
	}
}

// runAcks acks msgs from workers goroutines and waits for every
// confirmation.
func runAcks[M any](b *testing.B, msgs []M, workers int, ack func(M, func(error))) {
	var confirmed sync.WaitGroup
	confirmed.Add(len(msgs))
	next := make(chan M)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for m := range next {
				ack(m, func(err error) {
					if err != nil {
						b.Error(err)
					}
					confirmed.Done()
				})
			}
		})
	}
	for _, m := range msgs {
		next <- m
	}
	close(next)
	wg.Wait()
	confirmed.Wait()
}

// fetchedRaw is fetchedMessages as nats.go's own messages.
func fetchedRaw(b *testing.B, n int) []jetstream.Msg {
	b.Helper()
	js, ctx := provisionedBench(b, n)
	cons, err := js.Consumer(ctx, wire.ChangesStream, wire.ConsumerDefault)
	if err != nil {
		b.Fatal(err)
	}
	var out []jetstream.Msg
	for len(out) < n {
		batch, err := cons.Fetch(min(n-len(out), 1000), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			b.Fatal(err)
		}
		for m := range batch.Messages() {
			out = append(out, m)
		}
	}
	return out
}

// fetchedMessages provisions a fresh server, publishes n events and
// fetches them all (unacked).
func fetchedMessages(b *testing.B, n int) []wire.Message {
	b.Helper()
	js, ctx := provisionedBench(b, n)
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var out []wire.Message
	for len(out) < n {
		got, err := src.Fetch(ctx, min(n-len(out), 1000), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// provisionedBench starts a server with regen's streams in memory and n
// events published.
func provisionedBench(b *testing.B, n int) (jetstream.JetStream, context.Context) {
	b.Helper()
	srv := testkit.StartServer(b)
	_, js := testkit.Connect(b, srv)
	ctx := testkit.Context(b, time.Minute)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{MaxAckPending: max(n, 16), Storage: jetstream.MemoryStorage}); err != nil {
		b.Fatal(err)
	}
	publishBench(b, ctx, js, n)
	return js, ctx
}

func publishBench(b *testing.B, ctx context.Context, js jetstream.JetStream, n int) {
	b.Helper()
	for i := range n {
		ev := wire.ChangeEvent{ID: fmt.Sprintf("ev-%d", i), ChangeType: wire.NodeAdded, Subject: "urn:bench:x"}
		data, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(ev.NATSSubject(wire.PriorityNormal))
		msg.Data = data
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			<-js.PublishAsyncComplete()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal(ctx.Err())
	}
}
