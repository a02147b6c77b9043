package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// maxCyclesInFlight bounds overlapping cycles that are processing events:
// the next batch's events start while the previous cycle's last ones
// finish (the gate keeps the events in flight within the concurrency), so
// the pool never idles on a cycle's tail. A cycle whose events are all
// processed frees its slot while it awaits its last ack confirmations
// (a round trip), holding one of maxCyclesConfirming instead.
const (
	maxCyclesInFlight   = 2
	maxCyclesConfirming = 2
)

// MaxBatchesHeld is how many batches one replica may hold unacked at once:
// cycles processing, cycles awaiting confirmations, and fetches ahead.
// The consumer's max_ack_pending should be at least replicas ×
// MaxBatchesHeld × the batch size at the tuner's largest.
const MaxBatchesHeld = maxCyclesInFlight + maxCyclesConfirming + fetchesAhead

// fetchesAhead is how many fetches run ahead of the loop. A fetch of a
// big batch takes about as long as a cycle of no-op events (the server
// gathers and sends every message, the client parses and wraps each), so
// with one fetch ahead the loop waited on it most of the time; with two,
// a batch is ready when a cycle slot frees.
const fetchesAhead = 2

// loop runs a cycle per fetched batch until Stop, or, when not
// autonomous, until the backlog is drained. Batches are fetched while
// cycles run (fetchesAhead of them), so a cycle never waits for a fetch
// round trip when there is a backlog.
func (o *Orchestrator) loop(r *run) {
	var cycles sync.WaitGroup
	slots := cycleSlots{processing: make(chan struct{}, maxCyclesInFlight),
		confirming: make(chan struct{}, maxCyclesConfirming)}
	ctx, cancel := context.WithCancel(r.fetchCtx) // ends the fetches ahead when the loop ends
	ahead := make([]*fetch, 0, fetchesAhead)
	for range fetchesAhead {
		ahead = append(ahead, o.startFetch(ctx))
	}
	defer func() {
		cancel()
		for _, f := range ahead {
			<-f.done
		}
		o.releaseKept()
		cycles.Wait()
		close(r.done)
	}()
	failures := 0
	for {
		b, i, ok := nextBatch(r.fetchCtx, ahead)
		if !ok {
			return
		}
		ahead = append(ahead[:i], ahead[i+1:]...)
		if r.fetchCtx.Err() != nil && len(b.msgs) == 0 {
			return
		}
		if b.err != nil {
			failures++
			o.fetchFailed(r.fetchCtx, b.err, failures)
			ahead = append(ahead, o.startFetch(ctx))
			continue
		}
		failures = 0
		if len(b.msgs) == 0 && !o.cfg.Autonomous && o.drainedAfter(r, &cycles) {
			r.err = o.onceResult()
			return
		}
		ahead = append(ahead, o.startFetch(ctx))
		o.startCycle(r, b, slots, &cycles)
	}
}

// releaseKept gives back what a Releaser source still holds once nothing
// fetches from it.
func (o *Orchestrator) releaseKept() {
	if r, ok := o.deps.Source.(Releaser); ok {
		for _, m := range r.Release() {
			o.release(m, "")
		}
	}
}

// nextBatch takes the batch of whichever fetch ahead delivers first (the
// server may hand a lone message to either's pull request: waiting on the
// older one would leave it sitting for up to FetchWait); ok is false once
// ctx ends. fetchesAhead is 2.
func nextBatch(ctx context.Context, ahead []*fetch) (b batch, i int, ok bool) {
	var second <-chan batch // nil (never ready) when only one fetch runs
	if len(ahead) > 1 {
		second = ahead[1].ch
	}
	select {
	case b = <-ahead[0].ch:
		return b, 0, true
	case b = <-second:
		return b, 1, true
	case <-ctx.Done():
		return batch{}, 0, false
	}
}

// cycleSlots bounds the cycles processing events and those awaiting
// their last ack confirmations.
type cycleSlots struct{ processing, confirming chan struct{} }

// startCycle runs a cycle on b in the background once fewer than
// maxCyclesInFlight are processing, keeping b's messages alive while it
// waits.
func (o *Orchestrator) startCycle(r *run, b batch, slots cycleSlots, cycles *sync.WaitGroup) {
	if len(b.msgs) == 0 {
		return
	}
	t := time.NewTicker(o.cfg.AckWait / 2)
	defer t.Stop()
	for waiting := true; waiting; {
		select {
		case slots.processing <- struct{}{}:
			waiting = false
		case <-t.C:
			inProgress(b.msgs)
			b.refreshed = time.Now()
		}
	}
	cycles.Go(func() {
		confirming := false
		processed := func() { // trade the processing slot for a confirming one
			slots.confirming <- struct{}{}
			<-slots.processing
			confirming = true
		}
		defer func() {
			if confirming {
				<-slots.confirming
			} else {
				<-slots.processing
			}
		}()
		o.runBatch(r, b, processed)
	})
}

// drainedAfter waits for the running cycles, then reports whether nothing
// is pending (so the stats are final when a --once run ends).
func (o *Orchestrator) drainedAfter(r *run, cycles *sync.WaitGroup) bool {
	cycles.Wait()
	return o.drained(r.fetchCtx)
}

// batch is one fetch's outcome; refreshed is when its messages' AckWait
// last restarted (delivery or InProgress).
type batch struct {
	msgs      []wire.Message
	err       error
	refreshed time.Time
}

// fetch is one fetch running ahead of the loop: its batch is handed over
// on ch; done is closed when the goroutine has ended.
type fetch struct {
	ch   chan batch
	done chan struct{}
}

// startFetch fetches the next batch in the background; ctx ends with the
// loop. Source.Fetch may run from fetchesAhead goroutines at once.
func (o *Orchestrator) startFetch(ctx context.Context) *fetch {
	f := &fetch{ch: make(chan batch), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if ctx.Err() != nil {
			return
		}
		msgs, err := o.deps.Source.Fetch(ctx, int(o.batchSize.Load()), o.cfg.FetchWait)
		o.handOff(ctx, f.ch, batch{msgs: msgs, err: err, refreshed: time.Now()})
	}()
	return f
}

// handOff gives b to the loop. While the loop is still busy with earlier
// cycles, b's messages get InProgress every AckWait/2 so they are not
// redelivered elsewhere; if the loop ends (Stop) first they are released
// for immediate redelivery.
func (o *Orchestrator) handOff(ctx context.Context, ch chan<- batch, b batch) {
	t := time.NewTicker(o.cfg.AckWait / 2)
	defer t.Stop()
	for {
		select {
		case ch <- b:
			return
		case <-t.C:
			inProgress(b.msgs)
			b.refreshed = time.Now()
		case <-ctx.Done():
			for _, m := range b.msgs {
				o.release(m, "")
			}
			return
		}
	}
}

// runBatch runs a cycle on b. A batch that waited long enough for the
// cycle's first heartbeat (after AckWait/2) to come late is refreshed first.
func (o *Orchestrator) runBatch(r *run, b batch, processed func()) {
	if len(b.msgs) == 0 {
		return
	}
	if time.Since(b.refreshed) > o.cfg.AckWait/4 {
		inProgress(b.msgs)
	}
	o.executeCycle(r, b.msgs, processed)
}

func inProgress(msgs []wire.Message) {
	for _, m := range msgs {
		_ = m.InProgress()
	}
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
