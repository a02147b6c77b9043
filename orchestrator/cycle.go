package orchestrator

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/regen-dev/regen/bus"
)

// executeCycle runs one cycle over a fetched batch: initialise, process and
// collect, finalise, check targets. processed (may be nil) is called once
// every event has been processed, before the cycle awaits the last ack
// confirmations.
func (o *Orchestrator) executeCycle(r *run, msgs []bus.Message, processed func()) ParallelExecution {
	pe := o.initCycle(len(msgs))
	results, peak := o.processAll(r, pe.ExecutionID, msgs, pe.MaxConcurrent, processed)
	o.finaliseCycle(&pe, results, peak)
	o.checkTargets(pe)
	o.afterCycle(pe)
	return pe
}

func (o *Orchestrator) initCycle(n int) ParallelExecution {
	return ParallelExecution{ExecutionID: uuid.NewString(), StartedAt: time.Now(),
		Events: n, MaxConcurrent: int(o.concurrency.Load())}
}

// processAll runs every message and collects every result. A pool of
// min(limit, len(msgs)) workers takes the messages in order (a goroutine
// per event would grow a fresh stack for each); each event also takes a
// slot of the orchestrator's gate, which bounds the events in flight
// across overlapping cycles. A worker sends a success's ack and moves on:
// the confirmation round trip does not hold a slot, and processAll
// returns only once every ack is confirmed (or failed); it calls
// processed (when not nil) once the workers are done, before awaiting the
// confirmations. Once Stop begins, messages not yet started are released
// for immediate redelivery. It returns the results and the cycle's peak
// in flight.
func (o *Orchestrator) processAll(r *run, execID string, msgs []bus.Message, limit int, processed func()) ([]result, int) {
	results := make([]result, len(msgs))
	done := make([]atomic.Bool, len(msgs))
	defer o.heartbeat(msgs, done)()
	var workers, acks sync.WaitGroup
	var next, inFlight, peak atomic.Int64
	for range min(limit, len(msgs)) {
		w := o.getWorker()
		workers.Go(func() {
			defer o.workers.Put(w)
			for i := int(next.Add(1) - 1); i < len(msgs); i = int(next.Add(1) - 1) {
				if !o.gate.acquire(r.fetchCtx) {
					results[i] = o.release(msgs[i], execID)
					done[i].Store(true)
					continue
				}
				raisePeak(&peak, inFlight.Add(1))
				results[i] = o.processOne(r, w, execID, msgs[i], &acks, &done[i])
				inFlight.Add(-1)
				o.gate.release()
			}
		})
	}
	workers.Wait()
	if processed != nil {
		processed()
	}
	acks.Wait()
	return results, int(peak.Load())
}

// processOne processes one message; a success is acked, counted in acks
// until its confirmation (or failure) arrives. done is set and the
// observer told once the message is settled.
func (o *Orchestrator) processOne(r *run, w *worker, execID string, m bus.Message, acks *sync.WaitGroup, done *atomic.Bool) result {
	o.inFlight.Add(1)
	start := time.Now()
	res := w.process(r.workCtx, execID, m)
	o.inFlight.Add(-1)
	if !res.ack {
		o.settled(res.outcome, start, done)
		return res
	}
	acks.Add(1)
	m.Ack(func(err error) {
		if err != nil {
			o.log.Warn("ack failed; the event will be redelivered and skipped",
				eventAttrs(res.eventID, execID, slog.Any("error", err))...)
		}
		o.settled(res.outcome, start, done)
		acks.Done()
	})
	return res
}

// settled marks a message done and tells the observer.
func (o *Orchestrator) settled(oc outcome, start time.Time, done *atomic.Bool) {
	done.Store(true)
	o.deps.Observer.EventDone(oc.String(), time.Since(start))
}

// heartbeat sends InProgress every AckWait/2 to every message of the
// batch not finished yet, waiting for a worker or in flight, so that
// neither long work nor a long wait in a big batch lets AckWait run out.
// The returned func stops it and waits for it.
func (o *Orchestrator) heartbeat(msgs []bus.Message, done []atomic.Bool) func() {
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

// finaliseCycle tallies the results into the execution record and the
// stats, and publishes regeneration_completed.
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
	o.publish(bus.RegenerationCompleted, pe.telemetry())
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

func (pe *ParallelExecution) telemetry() map[string]any {
	return map[string]any{"execution_id": pe.ExecutionID, "duration_ms": pe.DurationMS,
		"events": pe.Events, "succeeded": pe.Succeeded, "skipped": pe.Skipped, "failed": pe.Failed,
		"rejected": pe.Rejected, "deferred": pe.Deferred, "deployments": pe.Deployments,
		"max_concurrent": pe.MaxConcurrent, "achieved_parallelism": pe.AchievedParallelism,
		"events_per_second": pe.EventsPerSecond}
}

// checkTargets warns when a cycle overran the target cycle time.
func (o *Orchestrator) checkTargets(pe ParallelExecution) {
	target := float64(o.cfg.TargetCycle) / float64(time.Millisecond)
	if pe.DurationMS <= target {
		return
	}
	o.log.Warn("cycle over target", slog.String("execution_id", pe.ExecutionID),
		slog.Float64("duration_ms", pe.DurationMS), slog.Float64("target_ms", target))
	o.publish(bus.PerformanceWarning, map[string]any{"rule": "cycle_over_target",
		"execution_id": pe.ExecutionID, "duration_ms": pe.DurationMS, "target_ms": target})
}
