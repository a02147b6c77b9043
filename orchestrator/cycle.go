package orchestrator

import (
	"context"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/tracing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
)

// executeCycle runs one cycle over a fetched batch: initialise, process and
// collect, finalise, check targets. processed (may be nil) is called once
// every event has been processed, before the cycle awaits the last ack
// confirmations.
func (o *Orchestrator) executeCycle(r *run, msgs []wire.Message, processed func()) ParallelExecution {
	pe := o.initCycle(len(msgs))
	p := o.processAll(r, pe.ExecutionID, msgs, pe.MaxConcurrent, processed)
	o.finaliseCycle(&pe, p.results, int(p.peak.Load()))
	o.checkTargets(pe)
	o.afterCycle(pe)
	return pe
}

func (o *Orchestrator) initCycle(n int) ParallelExecution {
	return ParallelExecution{ExecutionID: uuid.NewString(), StartedAt: time.Now(),
		Events: n, MaxConcurrent: int(o.concurrency.Load())}
}

// processAll runs every message and collects every result. Workers take
// the messages in order (a goroutine per event would grow a fresh stack for
// each); each event also takes a slot of the orchestrator's gate, which
// bounds the events in flight across overlapping cycles. The pool grows on
// demand, up to min(limit, len(msgs)) workers: see cyclePool.take. A worker
// sends a success's ack and moves on: the confirmation round trip does not
// hold a slot, and processAll returns only once every ack is confirmed (or
// failed); it calls processed (when not nil) once the workers are done,
// before awaiting the confirmations. Once Stop begins, messages not yet
// started are released for immediate redelivery. With a GroupEngine the
// cycle is grouped instead (processGrouped). It returns the finished pool:
// its results and the cycle's peak in flight.
func (o *Orchestrator) processAll(r *run, execID string, msgs []wire.Message, limit int, processed func()) *cyclePool {
	if o.group != nil {
		return o.processGrouped(r, execID, msgs, limit, processed)
	}
	p := &cyclePool{o: o, r: r, execID: execID, msgs: msgs, max: int64(min(limit, len(msgs))),
		results: make([]result, len(msgs)), done: make([]atomic.Bool, len(msgs))}
	defer o.heartbeat(msgs, p.done)()
	p.runWorkers(p.work, processed)
	return p
}

// runWorkers starts the first worker (work), waits for every worker, calls
// processed (when not nil), then waits for every ack confirmation.
func (p *cyclePool) runWorkers(work, processed func()) {
	if p.max > 0 {
		p.spawned.Store(1)
		p.workers.Go(work)
	}
	p.workers.Wait()
	if processed != nil {
		processed()
	}
	p.acks.Wait()
}

// cyclePool is the worker pool of one cycle.
type cyclePool struct {
	o       *Orchestrator
	r       *run
	execID  string
	msgs    []wire.Message
	max     int64 // at most this many workers
	results []result
	done    []atomic.Bool

	workers, acks                 sync.WaitGroup
	next, inFlight, peak, spawned atomic.Int64
}

// work is one worker: it takes messages until none is left.
func (p *cyclePool) work() {
	w := p.o.getWorker()
	defer p.o.putWorker(w)
	for i := int(p.next.Add(1) - 1); i < len(p.msgs); i = int(p.next.Add(1) - 1) {
		if !p.o.gate.acquire(p.r.fetchCtx) {
			p.results[i] = p.o.release(p.msgs[i], p.execID)
			p.done[i].Store(true)
			continue
		}
		p.take()
		p.processOne(w, i)
		p.inFlight.Add(-1)
		p.o.gate.release()
	}
}

// take counts an event in flight, and starts one more worker when every
// worker is now on an event and messages remain. Workers that block (an
// engine waiting on I/O) so bring in the next at once, up to the limit,
// while events that never block (a no-op, a CPU-bound render) keep about
// one worker per processor busy instead of a goroutine per slot competing
// with the NATS client and server for the CPU.
func (p *cyclePool) take() {
	if p.grow(len(p.msgs)) {
		p.workers.Go(p.work)
	}
}

// grow counts a unit of work in flight and reports whether one more
// worker is to start (counted in spawned): every worker is busy, and some
// of the items units of work remain.
func (p *cyclePool) grow(items int) bool {
	n := p.inFlight.Add(1)
	raisePeak(&p.peak, n)
	s := p.spawned.Load()
	if n < s || s >= p.max || p.next.Load() >= int64(items) {
		return false
	}
	return p.spawned.CompareAndSwap(s, s+1)
}

// processOne processes message i and records its result.
func (p *cyclePool) processOne(w *worker, i int) {
	o := p.o
	o.inFlight.Add(1)
	start := time.Now()
	ctx, span := startDelivery(p.r.workCtx, p.msgs[i])
	res := w.process(ctx, p.execID, p.msgs[i], start)
	res.span = span
	res.costKey = w.costKey
	w.foldCost(start, w.costKey)
	o.inFlight.Add(-1)
	p.record(i, res, start)
}

// record records res, the result of message i started at start; a
// success is acked, counted in acks until its confirmation (or failure)
// arrives. done[i] is set and the observer told once the message is
// settled. The result is recorded before the ack is sent: the ack's
// callback reads it. A traced result's delivery span ends when it is
// settled, its ack span (a child) when the ack is confirmed or fails.
func (p *cyclePool) record(i int, res result, start time.Time) {
	res.start = start
	p.results[i] = res
	if !res.ack {
		p.settle(i, time.Now())
		return
	}
	p.acks.Add(1)
	if res.span != nil {
		_, p.results[i].ackSpan = tracing.StartStage(trace.ContextWithSpan(context.Background(), res.span), tracing.StageAck)
	}
	p.results[i].ackSent = time.Now()
	p.msgs[i].Ack(func(err error) { p.acked(i, err) })
}

// acked settles message i once its ack is confirmed (err nil) or failed,
// and notes the ack stage of its cost (finaliseCycle counts it).
func (p *cyclePool) acked(i int, err error) {
	now := time.Now()
	p.results[i].ackDur = now.Sub(p.results[i].ackSent)
	if span := p.results[i].ackSpan; span != nil {
		tracing.End(span, err)
	}
	if err != nil {
		p.o.log.Warn("ack failed; the event will be redelivered and skipped",
			eventAttrs(p.results[i].eventID, p.execID, slog.Any("error", err))...)
	}
	p.settle(i, now)
	p.acks.Done()
}

// settle ends the delivery span of message i (if any), marks it done at
// now and tells the observer.
func (p *cyclePool) settle(i int, now time.Time) {
	res := &p.results[i]
	endDelivery(res)
	p.done[i].Store(true)
	p.o.deps.Observer.EventDone(res.outcome.String(), now.Sub(res.start))
}

// heartbeat sends InProgress every AckWait/2 to every message of the
// batch not finished yet, waiting for a worker or in flight, so that
// neither long work nor a long wait in a big batch lets AckWait run out.
// The returned func stops it and waits for it.
func (o *Orchestrator) heartbeat(msgs []wire.Message, done []atomic.Bool) func() {
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(o.cfg.AckWait / 2)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				for i, m := range msgs {
					if !done[i].Load() {
						_ = m.InProgress()
					}
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}

func raisePeak(peak *atomic.Int64, n int64) {
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// finaliseCycle tallies the results into the execution record, the stats
// and the ack stage of the costs, and publishes regeneration_completed.
func (o *Orchestrator) finaliseCycle(pe *ParallelExecution, results []result, peak int) {
	regenerations, deadLettered := 0, 0
	for _, res := range results {
		pe.count(res)
		if res.regenerated {
			regenerations++
		}
		if res.deadLettered {
			deadLettered++
		}
	}
	o.cost.Acks(acks(results))
	d := time.Since(pe.StartedAt)
	pe.DurationMS = float64(d) / float64(time.Millisecond)
	pe.AchievedParallelism = peak
	if d > 0 {
		pe.EventsPerSecond = float64(pe.Events) / d.Seconds()
	}
	o.stats.addCycle(*pe, regenerations)
	o.stats.addDeadLettered(deadLettered)
	o.lastExec.Store(pe)
	o.deps.Observer.CycleDone(*pe)
	o.publish(pe.telemetry())
}

// acks yields the cost key and ack time of each acked result.
func acks(results []result) iter.Seq2[cost.Event, time.Duration] {
	return func(yield func(cost.Event, time.Duration) bool) {
		for i := range results {
			if results[i].ack && !yield(results[i].costKey, results[i].ackDur) {
				return
			}
		}
	}
}

func (pe *ParallelExecution) count(res result) {
	pe.Deployments += res.deployments
	switch res.outcome {
	case outcomeSucceeded:
		pe.Succeeded++
	case outcomeSkipped:
		pe.Skipped++
	case outcomeFailed:
		pe.Failed++
	case outcomeRejected:
		pe.Rejected++
	case outcomeDeferred:
		pe.Deferred++
	}
}

// telemetry returns the cycle's regeneration_completed data.
func (pe *ParallelExecution) telemetry() wire.RegenerationCompletedData {
	return wire.RegenerationCompletedData{ExecutionID: pe.ExecutionID, DurationMS: pe.DurationMS,
		Events: pe.Events, Succeeded: pe.Succeeded, Skipped: pe.Skipped, Failed: pe.Failed,
		Rejected: pe.Rejected, Deferred: pe.Deferred, Deployments: pe.Deployments,
		MaxConcurrent: pe.MaxConcurrent, AchievedParallelism: pe.AchievedParallelism,
		EventsPerSecond: pe.EventsPerSecond}
}

// checkTargets warns when a cycle overran the target cycle time.
func (o *Orchestrator) checkTargets(pe ParallelExecution) {
	target := float64(o.cfg.TargetCycle) / float64(time.Millisecond)
	if pe.DurationMS <= target {
		return
	}
	o.log.Warn("cycle over target", slog.String("execution_id", pe.ExecutionID),
		slog.Float64("duration_ms", pe.DurationMS), slog.Float64("target_ms", target))
	o.publish(wire.CycleOverTargetData{Rule: ruleCycleOverTarget,
		ExecutionID: pe.ExecutionID, DurationMS: pe.DurationMS, TargetMS: target})
}
