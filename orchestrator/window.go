package orchestrator

import (
	"math"
	"slices"
	"sync"
	"time"
)

// cycleRingSize bounds the cycle durations kept for percentiles: a window
// holding more cycles than this computes its percentiles over the last
// cycleRingSize of them (its counts and average stay exact).
const cycleRingSize = 1024

// cycleRing keeps the durations of the most recent cycles and cumulative
// totals since Start. Safe for concurrent use.
type cycleRing struct {
	mu     sync.Mutex
	durs   [cycleRingSize]time.Duration
	cycles int64         // cycles recorded, cumulative
	busy   time.Duration // wall time with at least one cycle running, cumulative
	end    time.Time     // latest end of a recorded cycle
}

// add records a cycle that ran from start for d. Cycles overlap (see
// maxCyclesInFlight): busy counts only the part after the latest recorded
// end, so overlapping time is not counted twice.
func (r *cycleRing) add(start time.Time, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.durs[r.cycles%cycleRingSize] = d
	r.cycles++
	end := start.Add(d)
	if end.After(r.end) {
		r.busy += end.Sub(later(start, r.end))
		r.end = end
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// since returns the durations of the cycles recorded after the first from
// (at most cycleRingSize of them, oldest first) and the cumulative totals.
func (r *cycleRing) since(from int64) (durs []time.Duration, cycles int64, busy time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := max(from, r.cycles-cycleRingSize, 0)
	durs = make([]time.Duration, 0, r.cycles-start)
	for i := start; i < r.cycles; i++ {
		durs = append(durs, r.durs[i%cycleRingSize])
	}
	return durs, r.cycles, r.busy
}

// afterCycle records a finished cycle for the health loop and the tuner.
func (o *Orchestrator) afterCycle(pe ParallelExecution) {
	o.stats.recent.add(pe.StartedAt, time.Duration(pe.DurationMS*float64(time.Millisecond)))
}

// mark is the cumulative state at one instant; two marks bound a window.
type mark struct {
	at     time.Time
	cycles int64
	busy   time.Duration
	s      OrchestrationStats
}

// windowStats describe what happened between two marks.
type windowStats struct {
	Span     time.Duration // wall time covered
	Cycles   int64         // cycles completed
	Busy     time.Duration // time spent in those cycles
	Events   int64         // deliveries processed
	Failures int64         // failed or rejected (as OrchestrationStats.Failures)
	Rejected int64         // invalid events (also in Failures)
	Deferred int64         // put back: circuit open or shutdown
	// Removed counts deliveries that left the stream: acked (succeeded or
	// skipped) or dead-lettered.
	Removed             int64
	AvgMS, P50MS, P95MS float64
	P99MS               float64
}

// markNow returns the cumulative state now.
func (o *Orchestrator) markNow() mark {
	_, cycles, busy := o.stats.recent.since(0)
	return mark{at: time.Now(), cycles: cycles, busy: busy, s: o.stats.snapshot()}
}

// windowSince returns the window from m to now, and the mark of now.
func (o *Orchestrator) windowSince(m mark) (windowStats, mark) {
	durs, cycles, busy := o.stats.recent.since(m.cycles)
	now := mark{at: time.Now(), cycles: cycles, busy: busy, s: o.stats.snapshot()}
	w := windowStats{Span: now.at.Sub(m.at), Cycles: cycles - m.cycles, Busy: busy - m.busy,
		Events:   now.s.EventsProcessed - m.s.EventsProcessed,
		Failures: now.s.Failures - m.s.Failures,
		Rejected: now.s.Rejected - m.s.Rejected,
		Deferred: now.s.Deferred - m.s.Deferred,
		Removed:  removed(now.s) - removed(m.s)}
	if w.Cycles > 0 {
		w.AvgMS = ms(w.Busy) / float64(w.Cycles)
	}
	w.P50MS, w.P95MS, w.P99MS = percentiles(durs)
	return w, now
}

// removed counts deliveries that left the stream since Start.
func removed(s OrchestrationStats) int64 {
	return s.EventsProcessed - s.Failures - s.Deferred + s.DeadLettered
}

// percentiles returns the nearest-rank p50, p95 and p99 in milliseconds
// (zeros for no samples).
func percentiles(durs []time.Duration) (p50, p95, p99 float64) {
	if len(durs) == 0 {
		return 0, 0, 0
	}
	sorted := slices.Clone(durs)
	slices.Sort(sorted)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return ms(sorted[min(max(i, 0), len(sorted)-1)])
	}
	return rank(0.50), rank(0.95), rank(0.99)
}

// SuccessRate is the share of deliveries that succeeded or were skipped
// (ok false when there were none).
func (w windowStats) SuccessRate() (rate float64, ok bool) {
	if w.Events == 0 {
		return 0, false
	}
	return float64(w.Events-w.Failures-w.Deferred) / float64(w.Events), true
}

// LoadErrorRate is the share of deliveries that failed for reasons load
// can cause: engine/deploy errors and timeouts, and open circuits
// (deferred). Invalid events are not load.
func (w windowStats) LoadErrorRate() float64 {
	if w.Events == 0 {
		return 0
	}
	return float64(w.Failures-w.Rejected+w.Deferred) / float64(w.Events)
}

// EventsPerSecond is the processing rate over the window's wall time.
func (w windowStats) EventsPerSecond() float64 {
	if w.Span <= 0 {
		return 0
	}
	return float64(w.Events) / w.Span.Seconds()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
