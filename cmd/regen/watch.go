package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/logging"
)

// watchOptions are the flags of regen watch.
type watchOptions struct {
	conn   *connFlags
	types  typeList
	since  time.Duration
	asJSON bool
	count  int
}

// watchCmd prints telemetry events as they happen (after replaying the
// last --since of REGEN_TELEMETRY) until SIGINT/SIGTERM or --count events.
// Being interrupted is a clean exit.
func watchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseWatch(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := watch(ctx, o, stdout); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func parseWatch(args []string, stderr io.Writer) (watchOptions, error) {
	fs := flag.NewFlagSet("regen watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := watchOptions{conn: addConnFlags(fs)}
	fs.Var(&o.types, "type", "only this telemetry type (repeatable or comma-separated)")
	fs.DurationVar(&o.since, "since", 0, "first replay the telemetry of this last period (e.g. 10m), then continue live")
	fs.BoolVar(&o.asJSON, "json", false, "print the raw events, one JSON object per line")
	fs.IntVar(&o.count, "count", 0, "exit after this many events (0: run until SIGINT/SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.since < 0 || o.count < 0 || fs.NArg() > 0 {
		return o, fmt.Errorf("%w: --since and --count must not be negative, and watch takes no arguments", errConfig)
	}
	return o, nil
}

func watch(ctx context.Context, o watchOptions, stdout io.Writer) error {
	nc, js, err := o.conn.connect(ctx, "regen watch")
	if err != nil {
		return err
	}
	defer nc.Close()
	cons, err := js.OrderedConsumer(ctx, wire.TelemetryStream, watchConsumerConfig(o.types, o.since, time.Now()))
	if err != nil {
		return fmt.Errorf("watch %s (has a replica provisioned it?): %w", wire.TelemetryStream, err)
	}
	p := &printer{W: stdout, Raw: o.asJSON, Color: logging.IsTerminal(stdout) && os.Getenv("NO_COLOR") == ""}
	return watchLoop(ctx, cons, p, o.count)
}

// watchConsumerConfig starts at now-since (or with new events only when
// since is 0), filtered to the given types.
func watchConsumerConfig(types typeList, since time.Duration, now time.Time) jetstream.OrderedConsumerConfig {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{"telemetry.*"}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if len(types) > 0 {
		cfg.FilterSubjects = cfg.FilterSubjects[:0]
		for _, t := range types {
			cfg.FilterSubjects = append(cfg.FilterSubjects, wire.TelemetrySubjectFor(wire.TelemetryType(t)))
		}
	}
	if since > 0 {
		start := now.Add(-since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	return cfg
}

// watchLoop prints events until ctx is done or count events were printed
// (count 0: no limit). Ending by ctx is not an error.
func watchLoop(ctx context.Context, cons jetstream.Consumer, p *printer, count int) error {
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer it.Stop()
	for n := 0; count == 0 || n < count; n++ {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("watch: %w", err)
		}
		if err := p.Print(msg.Data()); err != nil {
			return fmt.Errorf("watch: write: %w", err)
		}
	}
	return nil
}

// typeList is the repeatable, comma-separated --type flag.
type typeList []string

func (t *typeList) String() string { return strings.Join(*t, ",") }

// Set adds each comma-separated type; each must be one subject token.
func (t *typeList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.ContainsAny(part, ".*> \t") {
			return fmt.Errorf("%q is not a telemetry type (like regeneration_completed)", part)
		}
		*t = append(*t, part)
	}
	return nil
}
