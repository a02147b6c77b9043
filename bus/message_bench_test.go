package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// BenchmarkAck measures the confirmed ack (DoubleAck) of fetched messages
// on an embedded server: one at a time, and from 64 goroutines at once as
// a cycle's workers do.
func BenchmarkAck(b *testing.B) {
	for _, workers := range []int{1, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchmarkAck(b, workers) })
	}
}

func benchmarkAck(b *testing.B, workers int) {
	msgs := fetchedMessages(b, b.N)
	ctx := context.Background()
	var wg sync.WaitGroup
	next := make(chan bus.Message)
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			for m := range next {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if err := m.Ack(actx); err != nil {
					b.Error(err)
				}
				cancel()
			}
		})
	}
	for _, m := range msgs {
		next <- m
	}
	close(next)
	wg.Wait()
}

// fetchedMessages provisions a fresh server, publishes n events and
// fetches them all (unacked).
func fetchedMessages(b *testing.B, n int) []bus.Message {
	b.Helper()
	srv := testkit.StartServer(b)
	_, js := testkit.Connect(b, srv)
	ctx := testkit.Context(b, time.Minute)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{MaxAckPending: max(n, 16), Storage: jetstream.MemoryStorage}); err != nil {
		b.Fatal(err)
	}
	publishBench(b, ctx, js, n)
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var out []bus.Message
	for len(out) < n {
		got, err := src.Fetch(ctx, min(n-len(out), 1000), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

func publishBench(b *testing.B, ctx context.Context, js jetstream.JetStream, n int) {
	b.Helper()
	for i := range n {
		ev := bus.ChangeEvent{ID: fmt.Sprintf("ev-%d", i), ChangeType: bus.NodeAdded, Subject: "urn:bench:x"}
		data, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(ev.NATSSubject(bus.PriorityNormal))
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
