package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
)

// levelState is one priority level's consumer in `regen stats`
// (priority_levels).
type levelState struct {
	Priority wire.Priority `json:"priority"`
	Consumer string        `json:"consumer"`
	// Pending counts undelivered plus unacked messages.
	Pending uint64 `json:"pending"`
	Paused  bool   `json:"paused"`
}

// readLevels reads the level consumers of base that exist (none without
// priority_levels).
func readLevels(ctx context.Context, js jetstream.JetStream, base string) ([]levelState, error) {
	var out []levelState
	for _, p := range wire.Priorities {
		name := bus.LevelConsumer(base, p)
		c, err := js.Consumer(ctx, wire.ChangesStream, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", name, err)
		}
		info := c.CachedInfo()
		out = append(out, levelState{Priority: p, Consumer: name, Pending: bus.Backlog(info),
			Paused: info.Paused})
	}
	return out, nil
}

// levelsTable writes one row per level consumer, nothing when there are
// none.
func levelsTable(w io.Writer, levels []levelState) error {
	if len(levels) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nLEVEL\tCONSUMER\tPENDING\tPAUSED")
	for _, l := range levels {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%t\n", l.Priority, l.Consumer, l.Pending, l.Paused)
	}
	return tw.Flush()
}
