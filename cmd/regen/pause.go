package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
)

// levelFlags are the flags of pause and resume.
type levelFlags struct {
	conn     *connFlags
	priority *string
	consumer *string
	timeout  *time.Duration
}

func addLevelFlags(fs *flag.FlagSet) levelFlags {
	return levelFlags{conn: addConnFlags(fs),
		priority: fs.String("priority", "", "the level: critical, high, normal or low (required)"),
		consumer: fs.String("consumer", wire.ConsumerDefault, "the base consumer name (consumer.name)"),
		timeout:  fs.Duration("timeout", 10*time.Second, "give up after this long")}
}

func (f levelFlags) level() (wire.Priority, error) {
	p := wire.Priority(*f.priority)
	if !p.Valid() {
		return "", errors.New("--priority: want critical, high, normal or low, got " + fmt.Sprintf("%q", *f.priority))
	}
	return p, nil
}

// pauseCmd pauses a priority level's consumer (priority_levels): every
// replica stops taking that level at once.
func pauseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen pause", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf := addLevelFlags(fs)
	d := fs.Duration("for", 0, "resume by itself after this long (0: until regen resume)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return onLevel(ctx, lf, "regen pause", func(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, p wire.Priority, name string) error {
		var until time.Time
		if *d > 0 {
			until = time.Now().Add(*d)
		}
		until, err := bus.PauseLevel(ctx, js, *lf.consumer, p, until)
		if err != nil {
			return err
		}
		if err := announce(ctx, nc, wire.ConsumerPausedData{Consumer: name, Priority: p, PauseUntil: until.UTC()}); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "paused %s until %s\n", name, until.UTC().Format(time.RFC3339))
		return err
	})
}

// resumeCmd resumes a paused priority level's consumer.
func resumeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen resume", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lf := addLevelFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return onLevel(ctx, lf, "regen resume", func(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, p wire.Priority, name string) error {
		if err := bus.ResumeLevel(ctx, js, *lf.consumer, p); err != nil {
			return err
		}
		if err := announce(ctx, nc, wire.ConsumerResumedData{Consumer: name, Priority: p}); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "resumed %s\n", name)
		return err
	})
}

// onLevel checks --priority, connects within --timeout and runs fn on the
// level and its consumer's name.
func onLevel(ctx context.Context, lf levelFlags, cmd string,
	fn func(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, p wire.Priority, name string) error) error {
	p, err := lf.level()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *lf.timeout)
	defer cancel()
	nc, js, err := lf.conn.connect(ctx, cmd)
	if err != nil {
		return err
	}
	defer nc.Close()
	return fn(ctx, nc, js, p, bus.LevelConsumer(*lf.consumer, p))
}

// announce publishes data as telemetry of component cli and waits until
// the server has it.
func announce(ctx context.Context, nc *nats.Conn, data wire.TelemetryPayload) error {
	tel := bus.NewTelemetry(nc, "cli")
	if err := tel.Publish(wire.TelemetryEvent{Type: data.TelemetryType(), Component: "cli", Data: data}); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if err := tel.Flush(ctx); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}
