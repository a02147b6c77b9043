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
			tu.bound = h.bound
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
	bound        string          // what bounded the replica over the last interval (costBound)
	cluster      *clusterAdvisor // with Deps.Cluster: the cluster advice's state
}

// healthCheck publishes one performance_metric and one cost_report, then
// a warning or alert per rule that fires, then the scaling advice (see
// advise).
func (o *Orchestrator) healthCheck(ctx context.Context, h *healthState) {
	w, now := o.windowSince(h.last)
	pending, perr := o.pending(ctx, o.cfg.HealthCheckInterval)
	mem := readMemory(defaultMemPaths)
	o.publish(o.metricData(w, now.s, pending, perr, mem))
	rep := o.capacity.report(o.costReport)
	o.publish(rep)
	bound, reason := costBound(rep, cores())
	in := healthInput{w: w, pending: pending, pendingKnown: perr == nil, target: o.cfg.TargetCycle,
		mem: mem, memLimit: uint64(o.cfg.MemoryLimit)}
	for _, f := range evaluateHealth(in) {
		o.report(ctx, f)
	}
	o.capacity.interval(w, bound)
	o.advise(ctx, h, w, pending, perr == nil, bound, reason)
	h.last, h.prevPending, h.pendingKnown, h.bound = now, pending, perr == nil, bound
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
	mem memSample) wire.PerformanceMetricData {
	d := wire.PerformanceMetricData{IntervalS: w.Span.Seconds(), Cycles: w.Cycles, TotalCycles: total.TotalCycles,
		AvgCycleMS: w.AvgMS, P50CycleMS: w.P50MS, P95CycleMS: w.P95MS, P99CycleMS: w.P99MS,
		TargetCycleMS: ms(o.cfg.TargetCycle), Events: w.Events, EventsPerSecond: w.EventsPerSecond(),
		Failures: w.Failures, Deferred: w.Deferred, EventsProcessed: total.EventsProcessed,
		InFlight: o.InFlight(), Concurrency: o.Concurrency(), BatchSize: o.BatchSize(),
		Breakers: o.Breakers(), TuningChanges: total.TuningChanges,
		HeapBytes: mem.Heap, RSSBytes: mem.RSS, CgroupMemoryMax: mem.CgroupMax}
	if rate, ok := w.SuccessRate(); ok {
		d.SuccessRate = &rate
	}
	if perr == nil {
		d.Pending = &pending
	} else {
		d.PendingError = perr.Error()
	}
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

// finding is one rule that fired; data is its performance_warning or
// performance_alert payload, carrying the same rule and severity.
type finding struct {
	rule     string
	severity string // warning, error or critical
	msg      string
	data     wire.TelemetryPayload
}

// healthRules are the health rules in the order their findings are
// reported.
var healthRules = []func(healthInput) (finding, bool){
	lowSuccessRate, intervalOverTarget, stalled, memoryPressureRule,
}

// evaluateHealth applies the health rules to one interval.
func evaluateHealth(in healthInput) []finding {
	var out []finding
	for _, rule := range healthRules {
		if f, ok := rule(in); ok {
			out = append(out, f)
		}
	}
	return out
}

// lowSuccessRate warns when too few deliveries of the interval succeeded.
func lowSuccessRate(in healthInput) (finding, bool) {
	rate, ok := in.w.SuccessRate()
	if !ok || rate >= SuccessRateWarnThreshold {
		return finding{}, false
	}
	d := wire.LowSuccessRateData{Rule: ruleLowSuccessRate, Severity: "warning", SuccessRate: rate,
		Threshold: SuccessRateWarnThreshold, Events: in.w.Events, Failures: in.w.Failures, Deferred: in.w.Deferred}
	return finding{rule: d.Rule, severity: d.Severity, msg: "success rate below threshold", data: d}, true
}

// intervalOverTarget warns when the interval's cycles averaged over the target.
func intervalOverTarget(in healthInput) (finding, bool) {
	target := ms(in.target)
	if in.w.Cycles <= 0 || in.w.AvgMS <= target {
		return finding{}, false
	}
	d := wire.IntervalOverTargetData{Rule: ruleCycleOverTarget, Severity: "warning", AvgCycleMS: in.w.AvgMS,
		TargetMS: target, Cycles: in.w.Cycles, Scope: "interval"}
	return finding{rule: d.Rule, severity: d.Severity, msg: "average cycle time over target", data: d}, true
}

// stalled alerts when no cycle completed while events were pending.
func stalled(in healthInput) (finding, bool) {
	if in.w.Cycles != 0 || !in.pendingKnown || in.pending == 0 {
		return finding{}, false
	}
	d := wire.StalledData{Rule: ruleStalled, Severity: "error", Pending: in.pending, IntervalS: in.w.Span.Seconds()}
	return finding{rule: d.Rule, severity: d.Severity, msg: "no cycle completed while events are pending", data: d}, true
}

// memoryPressureRule alerts when memoryPressure says the memory is critical.
func memoryPressureRule(in healthInput) (finding, bool) {
	reason, ok := memoryPressure(in.mem, in.memLimit)
	if !ok {
		return finding{}, false
	}
	d := wire.MemoryPressureData{Rule: ruleMemoryPressure, Severity: "critical", Reason: reason,
		MemoryLimit: in.memLimit, HeapBytes: in.mem.Heap, RSSBytes: in.mem.RSS, CgroupMemoryMax: in.mem.CgroupMax}
	return finding{rule: d.Rule, severity: d.Severity, msg: "memory pressure", data: d}, true
}

// report logs a finding and publishes it.
func (o *Orchestrator) report(ctx context.Context, f finding) {
	typ := f.data.TelemetryType()
	level := slog.LevelWarn
	if typ == wire.PerformanceAlert {
		level = slog.LevelError
	}
	o.log.LogAttrs(ctx, level, f.msg, slog.String("rule", f.rule), slog.String("severity", f.severity),
		slog.String("type", string(typ)), slog.Any("data", f.data))
	o.publish(f.data)
}
