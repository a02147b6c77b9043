package orchestrator

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// The tuner's policy (AIMD on concurrency; batch size follows).
const (
	tuneMinCycles        = 3    // cycles a window needs before any decision
	tuneMinEvents        = 10   // deliveries a window needs before any decision
	tuneIncreaseFraction = 0.10 // additive step: max(1, 10% of the current concurrency)
	tuneDecreaseFactor   = 0.7  // multiplicative decrease on overload
	tuneHeadroom         = 0.8  // increase only while the average cycle ≤ 80% of the target
	tuneErrorLow         = 0.02 // increase only while the load error rate is below 2%
	tuneErrorHigh        = 0.10 // decrease when the load error rate is at least 10% ...
	tuneErrorRise        = 0.02 // ... and 2 points above the previous window's
)

// Tuning reasons: the first four change the knobs, the rest hold.
const (
	reasonOverTarget    = "cycle_over_target"
	reasonErrorsRising  = "error_rate_rising"
	reasonHeadroom      = "headroom_and_backlog"
	reasonOutOfBounds   = "out_of_bounds"
	reasonInsufficient  = "insufficient_samples"
	reasonNoBacklog     = "no_backlog"
	reasonAtBound       = "at_bound"
	reasonErrorsPresent = "errors_present"
	reasonSteady        = "steady"
	reasonRateLimited   = "rate_limit_bound" // headroom, but the events wait on rate limits
)

// TuningChange records one change the adaptive tuner made, with the
// window it decided on.
type TuningChange struct {
	At             time.Time `json:"at"`
	Knob           string    `json:"knob"` // "concurrency" (batch_size follows)
	Old            int       `json:"old"`
	New            int       `json:"new"`
	OldBatchSize   int       `json:"old_batch_size"`
	NewBatchSize   int       `json:"new_batch_size"`
	Reason         string    `json:"reason"`
	WindowCycles   int64     `json:"window_cycles"`
	WindowEvents   int64     `json:"window_events"`
	WindowAvgMS    float64   `json:"window_avg_cycle_ms"`
	WindowErrRate  float64   `json:"window_error_rate"`
	WindowPending  *uint64   `json:"window_pending,omitempty"`
	WindowDuration float64   `json:"window_s"`
}

// tuneInput is what one tuning decision looks at.
type tuneInput struct {
	Concurrency  int
	Min, Max     int
	Target       time.Duration
	Batch        int // current batch size
	Cycles       int64
	Events       int64
	AvgMS        float64
	ErrRate      float64 // load error rate of this window
	PrevErrRate  float64 // of the previous window (0 for the first)
	Pending      uint64
	PendingKnown bool
	// Bound is what bounded the replica over the last health interval
	// (costBound): bound by a rate limit, more concurrency only adds waits.
	Bound string
}

// decideConcurrency is the tuner's rule (pure): with enough samples,
// multiplicative decrease on a cycle-time overrun or a rising error rate;
// additive increase while cycles have headroom, there is backlog beyond
// one batch, errors are rare and rate limits do not bound the events;
// otherwise hold. The result is always
// within [Min, Max]; reason says why.
func decideConcurrency(in tuneInput) (next int, reason string) {
	c := in.Concurrency
	if c < in.Min || c > in.Max {
		return min(max(c, in.Min), in.Max), reasonOutOfBounds
	}
	if in.Cycles < tuneMinCycles || in.Events < tuneMinEvents {
		return c, reasonInsufficient
	}
	next, reason = c, reasonSteady
	target := ms(in.Target)
	switch {
	case in.AvgMS > target:
		next, reason = decrease(c, in.Min), reasonOverTarget
	case in.ErrRate >= tuneErrorHigh && in.ErrRate >= in.PrevErrRate+tuneErrorRise:
		next, reason = decrease(c, in.Min), reasonErrorsRising
	case in.ErrRate >= tuneErrorLow:
		reason = reasonErrorsPresent
	case !in.PendingKnown || in.Pending <= uint64(in.Batch):
		reason = reasonNoBacklog
	case in.Bound == boundRateLimit:
		reason = reasonRateLimited
	case in.AvgMS <= tuneHeadroom*target:
		step := max(1, int(math.Ceil(tuneIncreaseFraction*float64(c))))
		next, reason = min(c+step, in.Max), reasonHeadroom
	}
	if next == c && (reason == reasonOverTarget || reason == reasonErrorsRising || reason == reasonHeadroom) {
		reason = reasonAtBound // the rule wants a change the bounds forbid
	}
	return next, reason
}

// decrease multiplies c by tuneDecreaseFactor, by at least 1, not below lo.
func decrease(c, lo int) int {
	return max(lo, min(c-1, int(float64(c)*tuneDecreaseFactor)))
}

// maxBatchRatio caps the batch/concurrency ratio the tuner keeps: the
// default batch's floor of 16 makes the ratio 8 at max_concurrent 2, which
// at tune_max 64 would hold 3 × 512 messages unacked per replica.
const maxBatchRatio = 4

// batchFor is the batch size for concurrency c: the configured
// batch_size/max_concurrent ratio (at most maxBatchRatio) is kept, so a
// cycle's expected duration stays what the configuration implied.
func (o *Orchestrator) batchFor(c int) int {
	ratio := min(float64(o.cfg.BatchSize)/float64(o.cfg.MaxConcurrent), maxBatchRatio)
	return max(1, int(math.Ceil(ratio*float64(c))))
}

// BatchAtTuneMax is the largest batch the tuner may set; a replica holds up
// to MaxBatchesHeld batches of it unacked.
func (o *Orchestrator) BatchAtTuneMax() int {
	if !o.cfg.AdaptiveOptimization {
		return o.cfg.BatchSize
	}
	_, hi := o.cfg.TuneBounds()
	return max(o.cfg.BatchSize, o.batchFor(hi))
}

// tuner is the tuning state the health loop keeps between passes.
type tuner struct {
	last       mark    // start of the current analysis window
	prevErr    float64 // load error rate of the previous analysed window
	lastChange time.Time
	bound      string // what bounded the replica over the last health interval
}

// tuneOnce analyses the window since the last analysed one and applies
// the decision. A window without enough samples is extended, not judged.
func (o *Orchestrator) tuneOnce(ctx context.Context, t *tuner) {
	w, now := o.windowSince(t.last)
	pending, perr := o.pending(ctx, o.cfg.TuneCooldown)
	lo, hi := o.cfg.TuneBounds()
	cur := o.Concurrency()
	in := tuneInput{Concurrency: cur, Min: lo, Max: hi, Target: o.cfg.TargetCycle, Batch: o.BatchSize(),
		Cycles: w.Cycles, Events: w.Events, AvgMS: w.AvgMS, ErrRate: w.LoadErrorRate(), PrevErrRate: t.prevErr,
		Pending: pending, PendingKnown: perr == nil, Bound: t.bound}
	next, reason := decideConcurrency(in)
	if reason == reasonInsufficient {
		return
	}
	t.last, t.prevErr = now, in.ErrRate
	if next == cur || now.at.Sub(t.lastChange) < o.cfg.TuneCooldown {
		o.log.DebugContext(ctx, "tuning: hold", slog.Int("concurrency", cur), slog.String("reason", reason))
		return
	}
	t.lastChange = now.at
	o.applyTuning(ctx, tuningChange(in, w, next, o.batchFor(next), reason, now.at))
}

// tuningChange builds the record of a change.
func tuningChange(in tuneInput, w windowStats, next, batch int, reason string, at time.Time) TuningChange {
	ch := TuningChange{At: at, Knob: "concurrency", Old: in.Concurrency, New: next, OldBatchSize: in.Batch,
		NewBatchSize: batch, Reason: reason, WindowCycles: w.Cycles, WindowEvents: w.Events,
		WindowAvgMS: w.AvgMS, WindowErrRate: in.ErrRate, WindowDuration: w.Span.Seconds()}
	if in.PendingKnown {
		p := in.Pending
		ch.WindowPending = &p
	}
	return ch
}

// applyTuning sets the knobs (the next cycle and fetch use them), records
// the change in the stats, logs and publishes it.
func (o *Orchestrator) applyTuning(ctx context.Context, ch TuningChange) {
	o.concurrency.Store(int64(ch.New))
	o.batchSize.Store(int64(ch.NewBatchSize))
	o.gate.wake()
	o.stats.recordTuning(ch)
	o.log.InfoContext(ctx, "tuning changed", slog.String("knob", ch.Knob), slog.Int("old", ch.Old),
		slog.Int("new", ch.New), slog.Int("batch_size", ch.NewBatchSize), slog.String("reason", ch.Reason),
		slog.Float64("window_avg_cycle_ms", ch.WindowAvgMS), slog.Float64("window_error_rate", ch.WindowErrRate))
	o.publish(ch.telemetry())
}

// telemetry returns the tuning_changed data.
func (ch TuningChange) telemetry() wire.TuningChangedData {
	window := wire.TuningWindow{Cycles: ch.WindowCycles, Events: ch.WindowEvents,
		AvgCycleMS: ch.WindowAvgMS, ErrorRate: ch.WindowErrRate, DurationS: ch.WindowDuration,
		Pending: ch.WindowPending}
	batch := wire.TuningBatchSize{Old: ch.OldBatchSize, New: ch.NewBatchSize}
	return wire.TuningChangedData{Knob: ch.Knob, Old: ch.Old, New: ch.New, Reason: ch.Reason,
		BatchSize: batch, At: ch.At, Window: window}
}

func (st *stats) recordTuning(ch TuningChange) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.TuningChanges++
	st.s.LastTuning = ch
}
