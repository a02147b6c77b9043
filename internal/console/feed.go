package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
)

// feedRetry is the wait before the telemetry feed is opened again after
// it failed (the stream may not be provisioned yet).
const feedRetry = 2 * time.Second

// feedLoop reads REGEN_TELEMETRY from Window ago, then live, into the
// state and the hub, until ctx is done. A failed consumer is opened again
// from the newest record seen.
func (c *Console) feedLoop(ctx context.Context) {
	from := time.Now().Add(-c.cfg.Window)
	last := ""
	for {
		err := c.feedOnce(ctx, from)
		if ctx.Err() != nil {
			return
		}
		if msg := err.Error(); msg != last { // the same failure again (no stream yet) is not logged again
			c.log.WarnContext(ctx, "telemetry feed interrupted", slog.Any("error", err))
			last = msg
		}
		if last := c.state.lastSeen(); !last.IsZero() {
			from = last.Add(time.Nanosecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(feedRetry):
		}
	}
}

// feedOnce opens an ordered consumer from start and ingests until ctx is
// done or the consumer fails.
func (c *Console) feedOnce(ctx context.Context, start time.Time) error {
	cons, err := c.cfg.JetStream.OrderedConsumer(ctx, wire.TelemetryStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{wire.TelemetrySubject}, DeliverPolicy: jetstream.DeliverByStartTimePolicy,
		OptStartTime: &start})
	if err != nil {
		return fmt.Errorf("telemetry feed: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("telemetry feed: %w", err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return fmt.Errorf("telemetry feed: %w", err)
		}
		if item, ok := c.state.ingest(msg.Data(), time.Now()); ok {
			c.hub.publish(item)
		}
	}
}
