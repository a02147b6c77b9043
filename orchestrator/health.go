package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Health rules.
const (
	// SuccessRateWarnThreshold: below this share of succeeded or skipped
	// deliveries over an interval, the health loop warns.
	SuccessRateWarnThreshold = 0.90
	// pendingTimeoutMax bounds the health loop's pending query.
	pendingTimeoutMax = 2 * time.Second
)

// Health rule names (the "rule" field of warnings and alerts).
const (
	ruleLowSuccessRate  = "low_success_rate"
	ruleCycleOverTarget = "cycle_over_target"
	ruleStalled         = "stalled"
	ruleMemoryPressure  = "memory_pressure"
)

// healthLoop runs a health check every HealthCheckInterval and, when
// AdaptiveOptimization is on, a tuning pass every TuneCooldown, until Stop
// (or the end of a non-autonomous run). It never blocks cycles: it reads
// snapshots and atomics only, and a failing pending query (NATS away) is
// noted and skipped.
func (o *Orchestrator) healthLoop(r *run) {
	defer close(r.health)
	h := &healthState{last: o.markNow()}
	tu := &tuner{last: h.last}
	t := time.NewTicker(o.cfg.HealthCheckInterval)
	defer t.Stop()
	var tuneTick <-chan time.Time
	if o.cfg.AdaptiveOptimization {
		tt := time.NewTicker(o.cfg.TuneCooldown)
		defer tt.Stop()
		tuneTick = tt.C
	}
	for {
		select {
		case <-r.fetchCtx.Done():
			return
		case <-r.done:
			return
		case <-t.C:
			o.healthCheck(r.fetchCtx, h)
		case <-tuneTick:
			o.tuneOnce(r.fetchCtx, tu)
		}
	}
}

// healthState is what one health check hands the next.
type healthState struct {
	last         mark
	prevPending  uint64
	pendingKnown bool
}

// healthCheck publishes one performance_metric, then a warning or alert
// per rule that fires, then scaling advice if the backlog needs it.
func (o *Orchestrator) healthCheck(ctx context.Context, h *healthState) {
	w, now := o.windowSince(h.last)
	pending, perr := o.pending(ctx, o.cfg.HealthCheckInterval)
	mem := readMemory(defaultMemPaths)
	o.publish(wire.PerformanceMetric, o.metricData(w, now.s, pending, perr, mem))
	in := healthInput{w: w, pending: pending, pendingKnown: perr == nil, target: o.cfg.TargetCycle,
		mem: mem, memLimit: uint64(o.cfg.MemoryLimit)}
	for _, f := range evaluateHealth(in) {
		o.report(ctx, f)
	}
	if perr == nil && h.pendingKnown {
		o.adviseScaling(w, pending, h.prevPending)
	}
	h.last, h.prevPending, h.pendingKnown = now, pending, perr == nil
}

// pending asks the source for the consumer's pending count, within a
// short timeout (half the period, at most pendingTimeoutMax).
func (o *Orchestrator) pending(ctx context.Context, period time.Duration) (uint64, error) {
	pctx, cancel := context.WithTimeout(ctx, min(period/2, pendingTimeoutMax))
	defer cancel()
	n, err := o.deps.Source.Pending(pctx)
	if err != nil {
		return 0, fmt.Errorf("pending: %w", err)
	}
	return n, nil
}

// metricData is the performance_metric payload; unknowns are omitted
// (pending when the query failed: pending_error says why).
func (o *Orchestrator) metricData(w windowStats, total OrchestrationStats, pending uint64, perr error,
	mem memSample) map[string]any {
	d := map[string]any{"interval_s": w.Span.Seconds(), "cycles": w.Cycles, "total_cycles": total.TotalCycles,
		"avg_cycle_ms": w.AvgMS, "p50_cycle_ms": w.P50MS, "p95_cycle_ms": w.P95MS, "p99_cycle_ms": w.P99MS,
		"target_cycle_ms": ms(o.cfg.TargetCycle), "events": w.Events, "events_per_second": w.EventsPerSecond(),
		"failures": w.Failures, "deferred": w.Deferred, "events_processed": total.EventsProcessed,
		"in_flight": o.InFlight(), "concurrency": o.Concurrency(), "batch_size": o.BatchSize(),
		"breakers": o.Breakers(), "tuning_changes": total.TuningChanges}
	if rate, ok := w.SuccessRate(); ok {
		d["success_rate"] = rate
	}
	if perr == nil {
		d["pending"] = pending
	} else {
		d["pending_error"] = perr.Error()
	}
	mem.data(d)
	return d
}

// healthInput is what the health rules look at.
type healthInput struct {
	w            windowStats
	pending      uint64
	pendingKnown bool
	target       time.Duration
	mem          memSample
	memLimit     uint64 // heap limit in bytes, 0 = none
}

// finding is one rule that fired.
type finding struct {
	typ      wire.TelemetryType // performance_warning or performance_alert
	rule     string
	severity string // warning, error or critical
	msg      string
	data     map[string]any
}

// evaluateHealth applies the health rules to one interval.
func evaluateHealth(in healthInput) []finding {
	var out []finding
	if rate, ok := in.w.SuccessRate(); ok && rate < SuccessRateWarnThreshold {
		out = append(out, finding{typ: wire.PerformanceWarning, rule: ruleLowSuccessRate, severity: "warning",
			msg: "success rate below threshold", data: map[string]any{"success_rate": rate,
				"threshold": SuccessRateWarnThreshold, "events": in.w.Events, "failures": in.w.Failures,
				"deferred": in.w.Deferred}})
	}
	if target := ms(in.target); in.w.Cycles > 0 && in.w.AvgMS > target {
		out = append(out, finding{typ: wire.PerformanceWarning, rule: ruleCycleOverTarget, severity: "warning",
			msg: "average cycle time over target", data: map[string]any{"avg_cycle_ms": in.w.AvgMS,
				"target_ms": target, "cycles": in.w.Cycles, "scope": "interval"}})
	}
	if in.w.Cycles == 0 && in.pendingKnown && in.pending > 0 {
		out = append(out, finding{typ: wire.PerformanceAlert, rule: ruleStalled, severity: "error",
			msg: "no cycle completed while events are pending", data: map[string]any{
				"pending": in.pending, "interval_s": in.w.Span.Seconds()}})
	}
	if reason, ok := memoryPressure(in.mem, in.memLimit); ok {
		d := map[string]any{"reason": reason, "memory_limit": in.memLimit}
		in.mem.data(d)
		out = append(out, finding{typ: wire.PerformanceAlert, rule: ruleMemoryPressure, severity: "critical",
			msg: "memory pressure", data: d})
	}
	return out
}

// report logs a finding and publishes it.
func (o *Orchestrator) report(ctx context.Context, f finding) {
	f.data["rule"], f.data["severity"] = f.rule, f.severity
	level := slog.LevelWarn
	if f.typ == wire.PerformanceAlert {
		level = slog.LevelError
	}
	o.log.LogAttrs(ctx, level, f.msg, slog.String("rule", f.rule), slog.String("severity", f.severity),
		slog.String("type", string(f.typ)), slog.Any("data", f.data))
	o.publish(f.typ, f.data)
}
