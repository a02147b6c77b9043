package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/testkit"
)

// The golden tests hold every telemetry payload the orchestrator
// publishes to the bytes it published when payloads were map literals:
// the legacy* functions below are that code, kept as the reference.

// goldenCase is one payload built both ways: legacy with the type it was
// published as, typed as the orchestrator publishes it now.
type goldenCase struct {
	name   string
	typ    wire.TelemetryType
	legacy map[string]any
	typed  wire.TelemetryPayload
}

// appPayloads are the payloads other packages build (internal/app's and
// bus's and cmd/regen's golden tests hold them); the orchestrator builds
// every other.
var appPayloads = []string{"BreakerStateChangedData", "EventReapedData", "DLQNearLimitData", "ConsumerPausedData",
	"ConsumerResumedData", "RateLimitedData"}

func TestTelemetryGoldenBytes(t *testing.T) {
	t.Parallel()
	cases := goldenCases(t)
	seen := map[string]bool{}
	for _, c := range cases {
		seen[reflect.TypeOf(c.typed).Name()] = true
		t.Run(c.name, func(t *testing.T) {
			testkit.RequireSameWire(t, c.typ, "orchestrator", c.legacy, c.typed)
		})
	}
	want := slices.DeleteFunc(testkit.PayloadTypes(t, "../bus/wire"), func(n string) bool { return slices.Contains(appPayloads, n) })
	if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, want) {
		t.Fatalf("golden cases cover %v, want every payload built here: %v", got, want)
	}
}

// goldenBundle is an orchestrator whose published payloads are read back.
type goldenBundle struct {
	o   *Orchestrator
	tel *fakeTelemetry
}

// stateGuard is a guard with a circuit state, for the metric's breakers.
type stateGuard struct{ component, state string }

func (stateGuard) Do(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (g stateGuard) Component() string                                          { return g.component }
func (g stateGuard) State() string                                              { return g.state }

func goldenSetup(t *testing.T) goldenBundle {
	t.Helper()
	tel := &fakeTelemetry{}
	cfg := cfgWith(func(c *Config) { c.MaxConcurrent, c.BatchSize, c.TargetCycle = 3, 7, 1500*time.Microsecond })
	o, err := New(cfg, Deps{Source: &fakeSource{}, Engine: &fakeEngine{}, Deployer: &fakeDeployer{},
		DeadLetters: &fakeDLQ{}, Telemetry: tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		EngineGuard: stateGuard{"engine", "half-open"}, DeployGuard: stateGuard{"deployer", "closed"}})
	if err != nil {
		t.Fatal(err)
	}
	return goldenBundle{o: o, tel: tel}
}

// published returns the data of the last event published through fn.
func (b goldenBundle) published(t *testing.T, fn func()) wire.TelemetryPayload {
	t.Helper()
	fn()
	b.tel.mu.Lock()
	defer b.tel.mu.Unlock()
	if len(b.tel.events) == 0 {
		t.Fatal("nothing published")
	}
	return b.tel.events[len(b.tel.events)-1].Data
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	b := goldenSetup(t)
	var out []goldenCase
	for _, part := range []func(*testing.T, goldenBundle) []goldenCase{
		lifecycleCases, eventCases, metricCases, findingCases, adviceCases, tuningCases, costCases,
	} {
		out = append(out, part(t, b)...)
	}
	return out
}

func lifecycleCases(t *testing.T, b goldenBundle) []goldenCase {
	var out []goldenCase
	for _, cfg := range []Config{b.o.cfg, {Autonomous: true, MaxConcurrent: 1 << 20, TargetCycle: 30 * time.Second}} {
		out = append(out, goldenCase{"started", wire.RegenerationStarted, legacyStarted(cfg), startedData(cfg)})
	}
	for _, pe := range []ParallelExecution{{}, {ExecutionID: "exec-<1>", DurationMS: 0.1 + 0.2, Events: 9, Succeeded: 4,
		Skipped: 1, Failed: 1, Rejected: 1, Deferred: 2, Deployments: 12, MaxConcurrent: 4, AchievedParallelism: 3,
		EventsPerSecond: 1e21}} {
		out = append(out, goldenCase{"cycle", wire.RegenerationCompleted, legacyCycle(&pe), pe.telemetry()})
		over := pe
		over.DurationMS += 2 // over the 1.5ms target
		out = append(out, goldenCase{"cycle over target", wire.PerformanceWarning,
			legacyCycleOverTarget(over, ms(b.o.cfg.TargetCycle)), b.published(t, func() { b.o.checkTargets(over) })})
	}
	for _, s := range []OrchestrationStats{{}, {TotalCycles: 5, AvgCycleTimeMS: 12.25, EventsProcessed: 40,
		RegenerationsTriggered: 30, DeploymentsCompleted: 60, Failures: 3, Skipped: 7, Rejected: 1, Deferred: 2,
		DeadLettered: 1, TuningChanges: 9, LastCycleAt: time.Now()}} {
		b.o.stats.mu.Lock()
		b.o.stats.s = s
		b.o.stats.mu.Unlock()
		out = append(out, goldenCase{"final", wire.RegenerationCompleted, legacyFinal(s),
			b.published(t, b.o.publishFinal)})
	}
	return out
}

func eventCases(t *testing.T, b goldenBundle) []goldenCase {
	ch := wire.Change{Event: wire.ChangeEvent{ID: "ev-1", ChangeType: wire.NodeUpdated, Subject: "urn:x:<A&B>\u2028é"},
		ExecutionID: "exec-1", Deliveries: 3}
	var out []goldenCase
	for _, a := range []wire.Artifact{{}, {Path: "a/<b>.go", Hash: "ab12", Template: "t&1", Node: "urn:n",
		Revision: math.MaxUint64, Delete: true}} {
		err := errors.New(`deploy "failed" <here>`)
		out = append(out,
			goldenCase{"deploy started", wire.DeploymentStarted, legacyDeployStarted(ch, a),
				b.published(t, func() { b.o.publishDeployStarted("", ch, a) })},
			goldenCase{"deployed", wire.DeploymentCompleted, legacyDeployed(ch, a, 1234567*time.Nanosecond),
				b.published(t, func() { b.o.publishDeployed("", ch, a, 1234567*time.Nanosecond) })},
			goldenCase{"deploy failed", wire.DeploymentFailed, legacyDeployFailed(ch, a, err),
				b.published(t, func() { b.o.publishDeployFailed("", ch, a, err) })})
	}
	out = append(out, goldenCase{"regeneration failed", wire.RegenerationFailed, legacyFailed(ch, errTransient),
		b.published(t, func() { b.o.publishFailed("", ch, "regenerate", errTransient) })})
	m := &fakeMsg{seq: 42, deliveries: 5}
	for _, cause := range []error{nil, errors.New("bad json")} {
		out = append(out, goldenCase{"rejected", wire.EventRejected,
			legacyRejected(m, "ev-2", "exec-2", wire.ReasonBadJSON, cause),
			b.published(t, func() { b.o.publishRejected("", m, "ev-2", "exec-2", wire.ReasonBadJSON, cause) })})
	}
	return out
}

func metricCases(t *testing.T, b goldenBundle) []goldenCase {
	quiet := windowStats{Span: 10 * time.Second}
	busy := windowStats{Span: 1500 * time.Millisecond, Cycles: 4, Busy: time.Second, Events: 30, Failures: 2,
		Rejected: 1, Deferred: 3, Removed: 25, AvgMS: 12.5, P50MS: 10, P95MS: 20.125, P99MS: 1e-7}
	total := OrchestrationStats{TotalCycles: 44, EventsProcessed: 300, TuningChanges: 2}
	var out []goldenCase
	for _, in := range []struct {
		w       windowStats
		pending uint64
		perr    error
		mem     memSample
	}{
		{quiet, 0, nil, memSample{Heap: 1 << 20}},
		{busy, 17, nil, memSample{Heap: 1 << 20, RSS: 3 << 20}},
		{busy, 0, errors.New("pending: nats: timeout"), memSample{Heap: 5, RSS: 6, CgroupMax: math.MaxUint64}},
	} {
		out = append(out, goldenCase{"metric", wire.PerformanceMetric,
			legacyMetric(b.o, in.w, total, in.pending, in.perr, in.mem),
			b.o.metricData(in.w, total, in.pending, in.perr, in.mem)})
	}
	return out
}

func findingCases(t *testing.T, b goldenBundle) []goldenCase {
	busy := windowStats{Span: time.Second, Cycles: 10, Events: 100, Failures: 30, Deferred: 5, AvgMS: 150.5}
	ins := []healthInput{
		{w: busy, pending: 5, pendingKnown: true, target: 100 * time.Millisecond, mem: memSample{Heap: 2 << 20},
			memLimit: 1 << 20},
		{w: windowStats{Span: 2500 * time.Millisecond}, pending: 8, pendingKnown: true, target: time.Second,
			mem: memSample{Heap: 1, RSS: 95, CgroupMax: 100}},
		{w: windowStats{Span: time.Second, Cycles: 1, Events: 1, AvgMS: 0}, pendingKnown: false,
			mem: memSample{Heap: 3 << 20, RSS: 7}, memLimit: 1 << 20},
	}
	var out []goldenCase
	for _, in := range ins {
		legacy, typed := legacyFindings(in), evaluateHealth(in)
		if len(legacy) != len(typed) {
			t.Fatalf("%d findings, legacy %d", len(typed), len(legacy))
		}
		for i, f := range typed {
			out = append(out, goldenCase{"finding " + f.rule, legacy[i].typ, legacy[i].data,
				b.published(t, func() { b.o.report(context.Background(), f) })})
		}
	}
	return out
}

func adviceCases(t *testing.T, b goldenBundle) []goldenCase {
	var out []goldenCase
	for _, a := range []advice{
		{Recommended: 3, Current: 1, PredictedDrainS: math.Inf(1), Pending: 1000, ArrivalRate: 50.5, DrainRate: 10,
			Reason: adviceBacklogGrowing},
		{Recommended: 2, Current: 1, PredictedDrainS: 45.000001, Pending: 10, ArrivalRate: 0, DrainRate: 1.0 / 3,
			Reason: adviceDrainTooSlow},
		{Recommended: 1, Current: 1, PredictedDrainS: 90, Pending: 10, ArrivalRate: 0.5, DrainRate: 0.25,
			Reason: adviceDrainTooSlow, Bound: boundRateLimit, BoundReason: "events waited on rate limits"},
	} {
		out = append(out, goldenCase{"scaling advice", wire.ScalingAdvice, legacyAdviceBound(a), a.telemetry()})
	}
	return append(out, clusterAdviceCase())
}

// clusterAdviceCase is a cluster scaling_advice; its map is written out
// here (the cluster scope has no map-literal past).
func clusterAdviceCase() goldenCase {
	drain := 12.5
	a := clusterAdvice{advice: advice{Recommended: 3, Current: 2, PredictedDrainS: drain, Pending: 250,
		ArrivalRate: 40, DrainRate: 30, Reason: adviceForecast},
		ClusterDrainRate: 60, Forecast: wire.ArrivalForecast{ArrivalRate: 70, Level: 40, Trend: 1, HorizonS: 30, Method: "holt",
			Error: 2.5, ErrorRatio: 0.0625, ErrorSamples: 4},
		Levels: []wire.LevelAdvice{{Priority: wire.PriorityCritical, Pending: 0, PredictedDrainS: new(0.0)},
			{Priority: wire.PriorityNormal, Pending: 250, ArrivalRate: 40, ForecastRate: 70, PredictedDrainS: &drain},
			{Priority: wire.PriorityLow}}}
	legacy := map[string]any{"recommended_replicas": 3, "current_replicas_estimate": 2, "predicted_drain_s": 12.5,
		"pending": 250, "arrival_rate": 40, "drain_rate": 30, "reason": "forecast_exceeds_capacity",
		"scope": "cluster", "cluster_drain_rate": 60,
		"forecast": map[string]any{"arrival_rate": 70, "level": 40, "trend": 1, "horizon_s": 30, "method": "holt", "error": 2.5,
			"error_ratio": 0.0625, "error_samples": 4},
		"levels": []any{
			map[string]any{"priority": "critical", "pending": 0, "arrival_rate": 0, "forecast_rate": 0, "predicted_drain_s": 0},
			map[string]any{"priority": "normal", "pending": 250, "arrival_rate": 40, "forecast_rate": 70, "predicted_drain_s": 12.5},
			map[string]any{"priority": "low", "pending": 0, "arrival_rate": 0, "forecast_rate": 0, "predicted_drain_s": nil}}}
	return goldenCase{"cluster scaling advice", wire.ScalingAdvice, legacy, a.telemetry()}
}

// costCases are an empty cost_report and one over a recorded event.
func costCases(t *testing.T, b goldenBundle) []goldenCase {
	var rec cost.Recorder
	rec.AddStage(cost.Decode, time.Millisecond)
	rec.AddStage(cost.Render, 4*time.Millisecond)
	rec.AddStage(cost.Deploy, 2*time.Millisecond)
	rec.Rendered("a.tmpl", 4*time.Millisecond, 10)
	rec.Deployed("dir:out", "a.tmpl", 2*time.Millisecond, 10)
	rec.KVOps(3)
	rec.RateLimited(time.Millisecond)
	var out []goldenCase
	for _, events := range []int{0, 1} {
		tally := cost.NewTally(time.Unix(100, 0), time.Second)
		if events > 0 {
			sh := cost.NewSheet()
			sh.Add(&rec, cost.Event{Source: "crm", Priority: "high"})
			tally.Merge(sh)
		}
		rep := tally.Report(time.Unix(101, 0), 1500*time.Millisecond, false)
		out = append(out, goldenCase{"cost report", wire.CostReport, legacyCost(rep), rep})
	}
	return out
}

func tuningCases(t *testing.T, b goldenBundle) []goldenCase {
	pending := uint64(0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	var out []goldenCase
	for _, p := range []*uint64{nil, &pending} {
		ch := TuningChange{At: at, Knob: "concurrency", Old: 4, New: 6, OldBatchSize: 8, NewBatchSize: 12,
			Reason: "headroom", WindowCycles: 12, WindowEvents: 96, WindowAvgMS: 22.5, WindowErrRate: 0.01,
			WindowPending: p, WindowDuration: 1.5}
		out = append(out, goldenCase{"tuning changed", wire.TuningChanged, legacyTuning(ch), ch.telemetry()})
	}
	return out
}

// encodingTelemetry encodes every event as bus.Telemetry does, then drops it.
type encodingTelemetry struct{}

func (encodingTelemetry) Publish(ev wire.TelemetryEvent) error {
	_, err := wire.EncodeTelemetry(ev)
	return err
}

func (encodingTelemetry) Flush(context.Context) error { return nil }

// BenchmarkDeploymentCompletedTelemetry compares the per-artifact
// telemetry as map literal and as the orchestrator publishes it now.
func BenchmarkDeploymentCompletedTelemetry(b *testing.B) {
	ch := wire.Change{Event: wire.ChangeEvent{ID: "0b6f9c3e-8a8e-4c1b-9d6e-2f4a1f0e7c55"}, ExecutionID: "exec-12"}
	a := wire.Artifact{Path: "gen/users/user-42.go", Hash: wire.ContentHash([]byte("x")), Template: "model.go.tmpl",
		Node: "urn:example:User42", Revision: 1234}
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			ev := testkit.LegacyTelemetry{Type: wire.DeploymentCompleted, Component: "orchestrator", Replica: "r1",
				Data: legacyDeployed(ch, a, time.Millisecond)}
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("struct", func(b *testing.B) {
		o, err := New(cfgWith(func(*Config) {}), Deps{Source: &fakeSource{}, Engine: &fakeEngine{},
			Deployer: &fakeDeployer{}, Telemetry: encodingTelemetry{}})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			o.publishDeployed("", ch, a, time.Millisecond)
		}
	})
}

// The reference: the payloads as map literals, as they were published.

func legacyStarted(cfg Config) map[string]any {
	return map[string]any{
		"max_concurrent": cfg.MaxConcurrent, "batch_size": cfg.BatchSize,
		"autonomous": cfg.Autonomous, "target_cycle_ms": cfg.TargetCycle.Milliseconds()}
}

func legacyCycle(pe *ParallelExecution) map[string]any {
	return map[string]any{"execution_id": pe.ExecutionID, "duration_ms": pe.DurationMS,
		"events": pe.Events, "succeeded": pe.Succeeded, "skipped": pe.Skipped, "failed": pe.Failed,
		"rejected": pe.Rejected, "deferred": pe.Deferred, "deployments": pe.Deployments,
		"max_concurrent": pe.MaxConcurrent, "achieved_parallelism": pe.AchievedParallelism,
		"events_per_second": pe.EventsPerSecond}
}

func legacyCycleOverTarget(pe ParallelExecution, target float64) map[string]any {
	return map[string]any{"rule": "cycle_over_target",
		"execution_id": pe.ExecutionID, "duration_ms": pe.DurationMS, "target_ms": target}
}

func legacyFinal(s OrchestrationStats) map[string]any {
	return map[string]any{
		"final": true, "total_cycles": s.TotalCycles, "avg_cycle_time_ms": s.AvgCycleTimeMS,
		"events_processed": s.EventsProcessed, "regenerations_triggered": s.RegenerationsTriggered,
		"deployments_completed": s.DeploymentsCompleted, "failures": s.Failures, "skipped": s.Skipped,
		"rejected": s.Rejected, "deferred": s.Deferred, "dead_lettered": s.DeadLettered}
}

func legacyDeployStarted(ch wire.Change, a wire.Artifact) map[string]any {
	return map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "hash": a.Hash, "template": a.Template, "node": a.Node, "revision": a.Revision,
		"deleted": a.Delete}
}

func legacyDeployed(ch wire.Change, a wire.Artifact, d time.Duration) map[string]any {
	return map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "hash": a.Hash, "template": a.Template, "node": a.Node, "revision": a.Revision,
		"deleted": a.Delete, "duration_ms": float64(d) / float64(time.Millisecond)}
}

func legacyDeployFailed(ch wire.Change, a wire.Artifact, err error) map[string]any {
	return map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "template": a.Template, "node": a.Node, "error": err.Error(),
		"deliveries": ch.Deliveries}
}

func legacyFailed(ch wire.Change, err error) map[string]any {
	return map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"change_type": ch.Event.ChangeType, "subject": ch.Event.Subject, "error": err.Error(),
		"deliveries": ch.Deliveries}
}

func legacyRejected(m wire.Message, eventID, execID, reason string, cause error) map[string]any {
	errText := ""
	if cause != nil {
		errText = cause.Error()
	}
	return map[string]any{"event_id": eventID, "execution_id": execID,
		"reason": reason, "error": errText, "nats_subject": m.Subject(), "seq": m.Seq(),
		"deliveries": m.Deliveries(), "dlq_subject": wire.DLQSubject(changeTypeFromSubject(m.Subject()))}
}

func legacyMemData(m memSample, into map[string]any) {
	into["heap_bytes"] = m.Heap
	if m.RSS > 0 {
		into["rss_bytes"] = m.RSS
	}
	if m.CgroupMax > 0 {
		into["cgroup_memory_max"] = m.CgroupMax
	}
}

func legacyMetric(o *Orchestrator, w windowStats, total OrchestrationStats, pending uint64, perr error,
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
	legacyMemData(mem, d)
	return d
}

type legacyFinding struct {
	typ  wire.TelemetryType
	data map[string]any
}

// legacyFindings is evaluateHealth as it was, with the rule and severity
// that report added before publishing.
func legacyFindings(in healthInput) []legacyFinding {
	var out []legacyFinding
	add := func(typ wire.TelemetryType, rule, severity string, data map[string]any) {
		data["rule"], data["severity"] = rule, severity
		out = append(out, legacyFinding{typ, data})
	}
	if rate, ok := in.w.SuccessRate(); ok && rate < SuccessRateWarnThreshold {
		add(wire.PerformanceWarning, ruleLowSuccessRate, "warning", map[string]any{"success_rate": rate,
			"threshold": SuccessRateWarnThreshold, "events": in.w.Events, "failures": in.w.Failures,
			"deferred": in.w.Deferred})
	}
	if target := ms(in.target); in.w.Cycles > 0 && in.w.AvgMS > target {
		add(wire.PerformanceWarning, ruleCycleOverTarget, "warning", map[string]any{"avg_cycle_ms": in.w.AvgMS,
			"target_ms": target, "cycles": in.w.Cycles, "scope": "interval"})
	}
	if in.w.Cycles == 0 && in.pendingKnown && in.pending > 0 {
		add(wire.PerformanceAlert, ruleStalled, "error", map[string]any{
			"pending": in.pending, "interval_s": in.w.Span.Seconds()})
	}
	if reason, ok := memoryPressure(in.mem, in.memLimit); ok {
		d := map[string]any{"reason": reason, "memory_limit": in.memLimit}
		legacyMemData(in.mem, d)
		add(wire.PerformanceAlert, ruleMemoryPressure, "critical", d)
	}
	return out
}

func legacyAdvice(a advice) map[string]any {
	var drainS any
	if !math.IsInf(a.PredictedDrainS, 1) {
		drainS = a.PredictedDrainS
	}
	return map[string]any{"recommended_replicas": a.Recommended, "current_replicas_estimate": a.Current,
		"predicted_drain_s": drainS, "pending": a.Pending, "arrival_rate": a.ArrivalRate,
		"drain_rate": a.DrainRate, "reason": a.Reason, "scope": "replica"}
}

// legacyAdviceBound is legacyAdvice with the bound, when there is one.
func legacyAdviceBound(a advice) map[string]any {
	d := legacyAdvice(a)
	if a.Bound != "" {
		d["bound"], d["bound_reason"] = a.Bound, a.BoundReason
	}
	return d
}

// legacyCost is the cost_report data as a map literal.
func legacyCost(r wire.CostReportData) map[string]any {
	groups := func(by map[string]wire.CostTotals) map[string]any {
		out := map[string]any{}
		for k, v := range by {
			out[k] = legacyCostTotals(v)
		}
		return out
	}
	return map[string]any{"interval_seconds": r.IntervalSeconds, "process_cpu_seconds": r.ProcessCPUSeconds,
		"busy_seconds": r.BusySeconds, "rate_limit_seconds": r.RateLimitSeconds, "child_cpu_seconds": r.ChildCPUSeconds, "total": legacyCostTotals(r.Total),
		"by_template": groups(r.ByTemplate), "by_source": groups(r.BySource), "by_priority": groups(r.ByPriority),
		"by_target": groups(r.ByTarget)}
}

func legacyCostTotals(t wire.CostTotals) map[string]any {
	d := map[string]any{"events": t.Events, "cpu_seconds": t.CPUSeconds, "wall_seconds": t.WallSeconds,
		"bytes_rendered": t.BytesRendered, "bytes_out": t.BytesOut, "kv_ops": t.KVOps}
	if len(t.StageSeconds) > 0 {
		d["stage_seconds"] = t.StageSeconds
	}
	return d
}

func legacyTuning(ch TuningChange) map[string]any {
	window := map[string]any{"cycles": ch.WindowCycles, "events": ch.WindowEvents,
		"avg_cycle_ms": ch.WindowAvgMS, "error_rate": ch.WindowErrRate, "duration_s": ch.WindowDuration}
	if ch.WindowPending != nil {
		window["pending"] = *ch.WindowPending
	}
	batch := map[string]any{"old": ch.OldBatchSize, "new": ch.NewBatchSize}
	return map[string]any{"knob": ch.Knob, "old": ch.Old, "new": ch.New, "reason": ch.Reason,
		"batch_size": batch, "at": ch.At, "window": window}
}
