package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Defaults of regen cost.
const (
	costSinceDefault   = time.Hour
	costTimeoutDefault = 30 * time.Second
)

// costOptions are the flags of regen cost.
type costOptions struct {
	conn    *connFlags
	since   time.Duration
	timeout time.Duration
	top     int
	asJSON  bool
	// now is the end of the window; the zero value is time.Now().
	now time.Time
}

// costCmd sums the cost_report telemetry of every replica over the last
// --since and prints it: a header and one table per dimension, or one
// JSON document with --json.
func costCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseCost(args, stderr)
	if err != nil {
		return err
	}
	return runCost(ctx, o, stdout)
}

func parseCost(args []string, stderr io.Writer) (costOptions, error) {
	fs := flag.NewFlagSet("regen cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := costOptions{conn: addConnFlags(fs)}
	fs.DurationVar(&o.since, "since", costSinceDefault, "sum the cost reports of this last period (e.g. 15m, 24h)")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON document {since, until, replicas, reports, total, by_template, ...}")
	fs.IntVar(&o.top, "top", 0, "show only the N costliest rows of each table (0: all; text output only)")
	fs.DurationVar(&o.timeout, "timeout", costTimeoutDefault, "give up reading the telemetry after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errConfig, err)
	}
	return o, o.validate(fs.NArg())
}

// validate reports every bad flag at once.
func (o costOptions) validate(nargs int) error {
	var errs []error
	if o.since <= 0 {
		errs = append(errs, fmt.Errorf("--since must be positive, got %s", o.since))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout must be positive, got %s", o.timeout))
	}
	if o.top < 0 {
		errs = append(errs, fmt.Errorf("--top must be 0 or more, got %d", o.top))
	}
	if nargs > 0 {
		errs = append(errs, errors.New("cost takes no arguments"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", errConfig, err)
	}
	return nil
}

// runCost reads the window's reports and prints their sums.
func runCost(ctx context.Context, o costOptions, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	nc, js, err := o.conn.connect(ctx, "regen cost")
	if err != nil {
		return err
	}
	defer nc.Close()
	until := o.now
	if until.IsZero() {
		until = time.Now()
	}
	sum, err := readCost(ctx, js, until.Add(-o.since), until)
	if err != nil {
		return err
	}
	if o.asJSON {
		if err := json.NewEncoder(stdout).Encode(sum); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	return printCost(stdout, sum, o.top)
}
