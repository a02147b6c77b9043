package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/observe"
)

// pollLoop reads the registry, the consumers and the DLQ every Poll
// until ctx is done; when the console is idle it calls stop (ending the
// feed too) and returns.
func (c *Console) pollLoop(ctx context.Context, stop context.CancelFunc) {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		if c.idle(time.Now()) {
			c.log.DebugContext(ctx, "console idle: loops stopped until the next request")
			stop()
			return
		}
		c.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollOnce reads everything polled once; each part that fails keeps its
// error for the page.
func (c *Console) pollOnce(parent context.Context) {
	ctx, cancel := context.WithTimeout(parent, c.cfg.RequestTimeout)
	defer cancel()
	p := polled{errs: map[string]string{}}
	var err error
	if p.replicas, err = observe.ListReplicas(ctx, c.cfg.JetStream); err != nil {
		p.errs["replicas"] = err.Error()
	}
	if p.levels, err = c.readLevels(ctx); err != nil {
		p.errs["levels"] = err.Error()
	}
	if u, err := c.dlq.Usage(ctx); err != nil {
		p.errs["dlq"] = err.Error()
	} else {
		p.dlq = &DLQCount{Msgs: u.Msgs, Bytes: u.Bytes}
	}
	if parent.Err() == nil { // not stopping: keep what was read, errors included
		c.state.setPolled(p)
	}
}

// readLevels reads the level consumers of the base consumer; without any
// (priority_levels false) the single consumer, as level "".
func (c *Console) readLevels(ctx context.Context) ([]Level, error) {
	var out []Level
	for _, p := range wire.Priorities {
		l, err := c.readConsumer(ctx, bus.LevelConsumer(c.cfg.Consumer, p))
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, nil // no replica provisioned the stream yet
		}
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l.Priority = p
		out = append(out, l)
	}
	if len(out) > 0 {
		return out, nil
	}
	l, err := c.readConsumer(ctx, c.cfg.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []Level{l}, nil
}

func (c *Console) readConsumer(ctx context.Context, name string) (Level, error) {
	cons, err := c.cfg.JetStream.Consumer(ctx, wire.ChangesStream, name)
	if err != nil {
		return Level{}, fmt.Errorf("consumer %s: %w", name, err)
	}
	info := cons.CachedInfo()
	l := Level{Consumer: name, Pending: bus.Backlog(info), Paused: info.Paused}
	if info.Paused && info.PauseRemaining > 0 {
		until := time.Now().Add(info.PauseRemaining).UTC()
		l.PauseUntil = &until
	}
	return l, nil
}
