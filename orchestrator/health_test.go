package orchestrator

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

func healthCfg(mod func(*Config)) Config {
	return cfgWith(func(c *Config) {
		c.HealthCheckInterval = 10 * time.Millisecond
		c.AdaptiveOptimization = false
		mod(c)
	})
}

// startThenPush starts the orchestrator and pushes n events once the
// health loop has published its first metric, so that its intervals
// cover them (the loop could otherwise drain them before the health
// loop takes its first mark).
func startThenPush(t *testing.T, b *testBundle, n int) {
	t.Helper()
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "the first metric", func() bool { return b.tel.count(wire.PerformanceMetric) > 0 })
	for i := range n {
		b.src.push(validMsg(i))
	}
}

func TestEvaluateHealthRules(t *testing.T) {
	t.Parallel()
	busy := windowStats{Span: time.Second, Cycles: 10, Events: 100, AvgMS: 50}
	with := func(mod func(*healthInput)) healthInput {
		in := healthInput{w: busy, pending: 5, pendingKnown: true, target: 100 * time.Millisecond,
			mem: memSample{Heap: 1 << 20}}
		mod(&in)
		return in
	}
	tests := []struct {
		name string
		in   healthInput
		want []string
	}{
		{"healthy", with(func(*healthInput) {}), nil},
		{"success rate 90% is fine", with(func(in *healthInput) { in.w.Failures = 10 }), nil},
		{"success rate 89%", with(func(in *healthInput) { in.w.Failures = 11 }), []string{ruleLowSuccessRate}},
		{"deferred count against success", with(func(in *healthInput) { in.w.Deferred = 20 }), []string{ruleLowSuccessRate}},
		{"average over target", with(func(in *healthInput) { in.w.AvgMS = 101 }), []string{ruleCycleOverTarget}},
		{"stalled", with(func(in *healthInput) { in.w = windowStats{Span: time.Second} }), []string{ruleStalled}},
		{"idle is not stalled", with(func(in *healthInput) { in.w, in.pending = windowStats{Span: time.Second}, 0 }), nil},
		{"pending unknown is not stalled", with(func(in *healthInput) {
			in.w, in.pendingKnown = windowStats{Span: time.Second}, false
		}), nil},
		{"heap over limit", with(func(in *healthInput) { in.memLimit = 1 << 19 }), []string{ruleMemoryPressure}},
		{"heap under limit", with(func(in *healthInput) { in.memLimit = 1 << 21 }), nil},
		{"near cgroup limit", with(func(in *healthInput) { in.mem.RSS, in.mem.CgroupMax = 95, 100 }), []string{ruleMemoryPressure}},
		{"far from cgroup limit", with(func(in *healthInput) { in.mem.RSS, in.mem.CgroupMax = 80, 100 }), nil},
		{"several at once", with(func(in *healthInput) { in.w.Failures, in.w.AvgMS = 50, 500 }),
			[]string{ruleLowSuccessRate, ruleCycleOverTarget}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range evaluateHealth(tt.in) {
				got = append(got, f.rule)
				wantTyp, wantSev := wire.PerformanceWarning, "warning"
				switch f.rule {
				case ruleStalled:
					wantTyp, wantSev = wire.PerformanceAlert, "error"
				case ruleMemoryPressure:
					wantTyp, wantSev = wire.PerformanceAlert, "critical"
				}
				if typ := f.data.TelemetryType(); typ != wantTyp || f.severity != wantSev {
					t.Errorf("%s: type %s severity %s, want %s %s", f.rule, typ, f.severity, wantTyp, wantSev)
				}
				if ruleOf(f.data) != f.rule {
					t.Errorf("%s: payload rule %q", f.rule, ruleOf(f.data))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rules = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHealthPublishesMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, healthCfg(func(c *Config) {}))
	startThenPush(t, b, 20)
	var d wire.PerformanceMetricData
	testkit.WaitFor(t, waitLimit, "a metric covering the events", func() bool {
		for _, ev := range b.tel.ofType(wire.PerformanceMetric) {
			if d = ev.Data.(wire.PerformanceMetricData); d.Events > 0 {
				return true
			}
		}
		return false
	})
	m := wireFields(t, d)
	keys := []string{"interval_s", "cycles", "total_cycles", "avg_cycle_ms", "p50_cycle_ms", "p95_cycle_ms",
		"p99_cycle_ms", "events_per_second", "success_rate", "in_flight", "pending", "concurrency", "batch_size",
		"breakers", "heap_bytes", "target_cycle_ms"}
	if runtime.GOOS == "linux" {
		keys = append(keys, "rss_bytes")
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("performance_metric lacks %s: %v", k, m)
		}
	}
	if *d.SuccessRate != 1.0 || d.Concurrency != b.o.Concurrency() {
		t.Fatalf("metric = %v", m)
	}
}

func TestHealthWarnsOnLowSuccessRate(t *testing.T) {
	t.Parallel()
	b := setup(t, healthCfg(func(c *Config) {}))
	b.eng.fail = func(wire.Change) error { return errTransient }
	startThenPush(t, b, 20)
	testkit.WaitFor(t, waitLimit, "low_success_rate", func() bool {
		return len(b.tel.withRule(wire.PerformanceWarning, ruleLowSuccessRate)) > 0
	})
	d := b.tel.withRule(wire.PerformanceWarning, ruleLowSuccessRate)[0].Data.(wire.LowSuccessRateData)
	if d.SuccessRate >= SuccessRateWarnThreshold || d.Severity != "warning" {
		t.Fatalf("warning = %+v", d)
	}
}

func TestHealthWarnsOnAverageOverTarget(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, healthCfg(func(c *Config) {
		c.TargetCycle, c.MaxConcurrent, c.BatchSize = time.Millisecond, 2, 4
	}))
	b.eng.latency.Store(int64(2 * time.Millisecond))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "an interval cycle_over_target", func() bool {
		for _, ev := range b.tel.withRule(wire.PerformanceWarning, ruleCycleOverTarget) {
			// per-cycle warnings come from checkTargets
			if d, ok := ev.Data.(wire.IntervalOverTargetData); ok && d.Scope == "interval" {
				return d.AvgCycleMS > 1
			}
		}
		return false
	})
}

func TestHealthAlertsWhenStalled(t *testing.T) {
	t.Parallel()
	b := setup(t, healthCfg(func(c *Config) {
		c.MaxConcurrent, c.BatchSize, c.ShutdownGrace = 1, 1, 10*time.Millisecond
	}))
	b.eng.block = make(chan struct{}) // the first event never finishes
	for i := range 8 {
		b.src.push(validMsg(i))
	}
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "a stalled alert", func() bool { return len(b.tel.withRule(wire.PerformanceAlert, ruleStalled)) > 0 })
	d := b.tel.withRule(wire.PerformanceAlert, ruleStalled)[0].Data.(wire.StalledData)
	// Pending counts undelivered and unacked events, as a consumer does:
	// all 8, wherever they wait (queued, fetched ahead, at the gate).
	if d.Pending != 8 || d.Severity != "error" {
		t.Fatalf("alert = %+v", d)
	}
}

func TestHealthCriticalOnMemoryLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, healthCfg(func(c *Config) { c.MemoryLimit = 1 }))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "a memory alert", func() bool {
		return len(b.tel.withRule(wire.PerformanceAlert, ruleMemoryPressure)) > 0
	})
	d := b.tel.withRule(wire.PerformanceAlert, ruleMemoryPressure)[0].Data.(wire.MemoryPressureData)
	if d.Severity != "critical" || d.Reason != "heap_over_limit" {
		t.Fatalf("alert = %+v", d)
	}
}

// A Pending call that hangs (NATS unreachable) must neither block cycles
// nor stop the health loop: metrics go on, pending omitted and explained.
func TestHealthSurvivesUnreachableSource(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, healthCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize = 2, 4 }))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.src.hang.Store(true)
	calls := b.src.calls.Load()
	testkit.WaitFor(t, waitLimit, "health checks against a hung source", func() bool { return b.src.calls.Load() >= calls+3 })
	cycles := b.o.Stats().TotalCycles
	testkit.WaitFor(t, waitLimit, "cycles to go on", func() bool { return b.o.Stats().TotalCycles > cycles+10 })
	b.src.hang.Store(false)
	b.src.pendingErr.Store(true)
	n := len(b.tel.ofType(wire.PerformanceMetric))
	testkit.WaitFor(t, waitLimit, "metrics despite a failing source", func() bool {
		ms := b.tel.ofType(wire.PerformanceMetric)
		return len(ms) > n+2 && ms[len(ms)-1].Data.(wire.PerformanceMetricData).PendingError != ""
	})
	last := b.tel.ofType(wire.PerformanceMetric)
	if _, ok := wireFields(t, last[len(last)-1].Data)["pending"]; ok {
		t.Fatal("pending reported although unknown")
	}
}

func TestHealthPublishesScalingAdvice(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, healthCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize = 2, 4 }))
	b.eng.latency.Store(int64(time.Millisecond))
	b.src.growth.Store(1_000_000) // the backlog grows far faster than one replica drains
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "scaling advice", func() bool { return len(b.tel.ofType(wire.ScalingAdvice)) > 0 })
	d := b.tel.ofType(wire.ScalingAdvice)[0].Data.(wire.ScalingAdviceData)
	if d.Reason != adviceBacklogGrowing || d.RecommendedReplicas < 2 || d.PredictedDrainS != nil {
		t.Fatalf("advice = %+v", d)
	}
}

// Stop returns only once the health loop has ended (goleak checks that no
// goroutine is left); a second Start runs a fresh one.
func TestHealthLoopStopsWithOrchestrator(t *testing.T) {
	t.Parallel()
	b := setup(t, healthCfg(func(c *Config) {}))
	for range 2 {
		n := b.tel.count(wire.PerformanceMetric)
		if err := b.o.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, waitLimit, "a metric", func() bool { return b.tel.count(wire.PerformanceMetric) > n })
		if err := b.o.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
