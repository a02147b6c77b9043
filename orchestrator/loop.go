package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// loop fetches a batch and runs a cycle per batch until Stop, or, when not
// autonomous, until the backlog is drained.
func (o *Orchestrator) loop(r *run) {
	defer close(r.done)
	failures := 0
	for r.fetchCtx.Err() == nil {
		n, err := o.runOnce(r)
		if err != nil {
			failures++
			o.fetchFailed(r.fetchCtx, err, failures)
			continue
		}
		failures = 0
		if n == 0 && !o.cfg.Autonomous && o.drained(r.fetchCtx) {
			r.err = o.onceResult()
			return
		}
	}
}

// runOnce fetches one batch and runs a cycle on it; it returns the batch size.
func (o *Orchestrator) runOnce(r *run) (int, error) {
	msgs, err := o.deps.Source.Fetch(r.fetchCtx, int(o.batchSize.Load()), o.cfg.FetchWait)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	o.executeCycle(r, msgs)
	return len(msgs), nil
}

// fetchFailed logs and waits before the next fetch (NATS may be away).
func (o *Orchestrator) fetchFailed(ctx context.Context, err error, failures int) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	delay := min(time.Duration(failures)*100*time.Millisecond, 5*time.Second)
	o.log.WarnContext(ctx, "fetch failed", slog.Any("error", err), slog.Int("consecutive", failures),
		slog.Duration("retry_in", delay))
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// drained reports whether nothing is pending, neither undelivered nor
// awaiting ack (a nak'ed message still counts).
func (o *Orchestrator) drained(ctx context.Context) bool {
	n, err := o.deps.Source.Pending(ctx)
	if err != nil {
		o.log.WarnContext(ctx, "pending check failed", slog.Any("error", err))
		return false
	}
	return n == 0
}

func (o *Orchestrator) onceResult() error {
	if s := o.stats.snapshot(); s.Failures > 0 {
		return fmt.Errorf("%w: %d of %d events", ErrEventsFailed, s.Failures, s.EventsProcessed)
	}
	return nil
}
