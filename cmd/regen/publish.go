package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen/internal/logging"
	"github.com/regen-dev/regen/internal/tracing"
)

// publishCmd publishes change events from files or stdin (JSON lines), or
// --synthetic N random valid events, validating each before it is sent.
func publishCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := addConnFlags(fs)
	synthetic := fs.Int("synthetic", 0, "publish N random valid events instead of reading input")
	priority := fs.String("priority", string(wire.PriorityNormal), "priority: critical, high, normal or low")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: regen publish [flags] [FILE.jsonl ...]   (no file: read stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !wire.Priority(*priority).Valid() {
		return fmt.Errorf("%w: --priority %q is not critical, high, normal or low", errConfig, *priority)
	}
	shutdownTracing, err := setupTracing(ctx, "", stderr)
	if err != nil {
		return err
	}
	defer shutdownTracing()
	ctx = inputTrace(ctx, os.Getenv)
	nc, js, err := conn.connect(ctx, "regen publish")
	if err != nil {
		return err
	}
	defer nc.Close()
	p := &publisher{js: js, prio: wire.Priority(*priority), stderr: stderr}
	if *synthetic > 0 {
		err = p.synthetic(ctx, *synthetic)
	} else {
		err = p.inputs(ctx, fs.Args())
	}
	p.summary(stdout)
	return errors.Join(err, p.err())
}

// inputTrace returns ctx in the trace given by the TRACEPARENT (and
// TRACESTATE) environment variables, the OpenTelemetry environment carrier,
// so that a caller's trace continues through the events published; ctx
// itself when they are unset or tracing is off.
func inputTrace(ctx context.Context, getenv func(string) string) context.Context {
	tp := getenv("TRACEPARENT")
	if tp == "" {
		return ctx
	}
	hdr := nats.Header{"traceparent": {tp}}
	if ts := getenv("TRACESTATE"); ts != "" {
		hdr["tracestate"] = []string{ts}
	}
	return tracing.Extract(ctx, hdr)
}

type publisher struct {
	js        jetstream.JetStream
	prio      wire.Priority
	stderr    io.Writer
	bar       *progressbar.ProgressBar
	sent, bad int
	started   time.Time
	pending   []jetstream.PubAckFuture
	spans     []trace.Span // the publish span of each pending, ended in wait
	failed    int
}

func (p *publisher) inputs(ctx context.Context, files []string) error {
	if len(files) == 0 {
		return p.lines(ctx, "stdin", os.Stdin)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return fmt.Errorf("open %s: %w", f, err)
		}
		err = p.lines(ctx, f, fh)
		fh.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// lines publishes every valid line of r; invalid lines are reported with
// their line number and skipped.
func (p *publisher) lines(ctx context.Context, name string, r io.Reader) error {
	p.start(-1)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), wire.MaxPayloadDefault+1)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		// A copy: the scanner reuses its buffer, while the event decoded
		// from the line (its strings share the line's memory) and the
		// message publishing it outlive this iteration.
		line := bytes.Clone(sc.Bytes())
		ev, err := wire.DecodeChangeEvent(line, 0)
		if err != nil {
			p.bad++
			fmt.Fprintf(p.stderr, "%s:%d: %v\n", name, n, err)
			continue
		}
		if err := p.send(ctx, ev, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return p.wait(ctx)
}

func (p *publisher) start(total int) {
	p.started = time.Now()
	if logging.IsTerminal(p.stderr) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.stderr),
			progressbar.OptionSetDescription("publishing"), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
	}
}

func (p *publisher) err() error {
	if p.bad > 0 || p.failed > 0 {
		return fmt.Errorf("%d invalid and %d failed events were not published", p.bad, p.failed)
	}
	return nil
}

func (p *publisher) summary(w io.Writer) {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	el := time.Since(p.started)
	fmt.Fprintf(w, "published %d events (%d invalid, %d failed) in %s (%.0f events/s)\n",
		p.sent, p.bad, p.failed, el.Round(time.Millisecond), float64(p.sent)/max(el.Seconds(), 1e-9))
}
