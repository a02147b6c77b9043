package benchkit

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// runBaseline fills the backlog and times the simplest consumer anyone
// writes: one goroutine, Fetch(batch), Ack each message (not confirmed),
// until every event was acked and the acks flushed to the server.
func (e *env) runBaseline(ctx context.Context, events, batch int) (float64, error) {
	return e.runBaselineHook(ctx, events, batch, func() {})
}

// runBaselineHook is runBaseline calling started just before the clock
// starts (the Go benchmarks start a profile there).
func (e *env) runBaselineHook(ctx context.Context, events, batch int, started func()) (float64, error) {
	if err := e.provision(ctx, 2*batch); err != nil {
		return 0, err
	}
	if err := e.fill(ctx, events, genNodes(1000)); err != nil {
		return 0, err
	}
	nc, js, err := e.connect(ctx, "regen-bench-baseline")
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	cons, err := fillConsumer(ctx, js)
	if err != nil {
		return 0, fmt.Errorf("bench baseline: %w", err)
	}
	settle()
	started()
	start := time.Now()
	if err := fetchAckLoop(ctx, cons, events, batch); err != nil {
		return 0, err
	}
	if err := nc.FlushTimeout(30 * time.Second); err != nil {
		return 0, fmt.Errorf("bench baseline flush: %w", err)
	}
	return float64(events) / time.Since(start).Seconds(), nil
}

// fillConsumer is the consumer that delivers what fill published: the
// normal level's (provision creates the level consumers).
func fillConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	return js.Consumer(ctx, wire.ChangesStream, bus.LevelConsumer(wire.ConsumerDefault, wire.PriorityNormal))
}

func fetchAckLoop(ctx context.Context, cons jetstream.Consumer, events, batch int) error {
	for n := 0; n < events; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bench baseline: %d of %d: %w", n, events, err)
		}
		msgs, err := cons.Fetch(batch, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return fmt.Errorf("bench baseline fetch: %w", err)
		}
		for m := range msgs.Messages() {
			if err := m.Ack(); err != nil {
				return fmt.Errorf("bench baseline ack: %w", err)
			}
			n++
		}
	}
	return nil
}

// settle collects the garbage of the backlog fill before a timed drain, so
// that every drain, the loop's and regen's, starts from the same heap
// state instead of inheriting a collection cycle half done (as
// testing.B does before each benchmark).
func settle() { runtime.GC() }
