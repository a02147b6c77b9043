package orchestrator

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestDecideConcurrency(t *testing.T) {
	t.Parallel()
	with := func(mod func(*tuneInput)) tuneInput {
		in := tuneInput{Concurrency: 10, Min: 1, Max: 64, Target: 100 * time.Millisecond, Batch: 20,
			Cycles: 5, Events: 100, AvgMS: 50, Pending: 1000, PendingKnown: true}
		mod(&in)
		return in
	}
	tests := []struct {
		name   string
		in     tuneInput
		want   int
		reason string
	}{
		{"headroom and backlog: +10%", with(func(*tuneInput) {}), 11, reasonHeadroom},
		{"small concurrency steps by 1", with(func(in *tuneInput) { in.Concurrency = 2 }), 3, reasonHeadroom},
		{"large concurrency steps by 10%", with(func(in *tuneInput) { in.Concurrency = 40 }), 44, reasonHeadroom},
		{"increase stops at the max", with(func(in *tuneInput) { in.Concurrency = 62 }), 64, reasonHeadroom},
		{"at the max", with(func(in *tuneInput) { in.Concurrency = 64 }), 64, reasonAtBound},
		{"too few cycles", with(func(in *tuneInput) { in.Cycles = 2 }), 10, reasonInsufficient},
		{"too few events", with(func(in *tuneInput) { in.Events = 9 }), 10, reasonInsufficient},
		{"too few samples even when overloaded", with(func(in *tuneInput) { in.Cycles, in.AvgMS = 1, 500 }), 10, reasonInsufficient},
		{"no backlog beyond a batch", with(func(in *tuneInput) { in.Pending = 20 }), 10, reasonNoBacklog},
		{"backlog unknown", with(func(in *tuneInput) { in.PendingKnown = false }), 10, reasonNoBacklog},
		{"near the target: hold", with(func(in *tuneInput) { in.AvgMS = 90 }), 10, reasonSteady},
		{"over the target: ×0.7", with(func(in *tuneInput) { in.AvgMS = 101 }), 7, reasonOverTarget},
		{"over the target: at least -1", with(func(in *tuneInput) { in.Concurrency, in.AvgMS = 3, 101 }), 2, reasonOverTarget},
		{"over the target: not below min", with(func(in *tuneInput) { in.Min, in.AvgMS = 8, 200 }), 8, reasonOverTarget},
		{"over the target at the min", with(func(in *tuneInput) { in.Concurrency, in.AvgMS = 1, 200 }), 1, reasonAtBound},
		{"error burst", with(func(in *tuneInput) { in.ErrRate = 0.3 }), 7, reasonErrorsRising},
		{"errors rising", with(func(in *tuneInput) { in.ErrRate, in.PrevErrRate = 0.3, 0.2 }), 7, reasonErrorsRising},
		{"errors high but steady: hold", with(func(in *tuneInput) { in.ErrRate, in.PrevErrRate = 0.3, 0.3 }), 10, reasonErrorsPresent},
		{"a few errors: no increase", with(func(in *tuneInput) { in.ErrRate = 0.05 }), 10, reasonErrorsPresent},
		{"overrun wins over errors", with(func(in *tuneInput) { in.ErrRate, in.AvgMS = 0.5, 150 }), 7, reasonOverTarget},
		{"bound by a rate limit: hold", with(func(in *tuneInput) { in.Bound = boundRateLimit }), 10, reasonRateLimited},
		{"bound by the CPU: headroom still raises", with(func(in *tuneInput) { in.Bound = boundCPU }), 11, reasonHeadroom},
		{"bound by a rate limit, over the target: ×0.7", with(func(in *tuneInput) { in.Bound, in.AvgMS = boundRateLimit, 101 }), 7, reasonOverTarget},
		{"out of bounds is corrected", with(func(in *tuneInput) { in.Concurrency, in.Max = 100, 64 }), 64, reasonOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next, reason := decideConcurrency(tt.in)
			if next != tt.want || reason != tt.reason {
				t.Fatalf("decide = %d (%s), want %d (%s)", next, reason, tt.want, tt.reason)
			}
		})
	}
}

// Whatever the window says, the decision stays within the bounds and
// moves by at most the AIMD steps.
func TestDecideConcurrencyNeverLeavesBounds(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		lo := 1 + r.IntN(8)
		hi := lo + r.IntN(100)
		in := tuneInput{Concurrency: lo + r.IntN(hi-lo+1), Min: lo, Max: hi, Target: time.Second,
			Batch: r.IntN(200), Cycles: int64(r.IntN(10)), Events: int64(r.IntN(100)),
			AvgMS: r.Float64() * 2000, ErrRate: r.Float64(), PrevErrRate: r.Float64(),
			Pending: uint64(r.IntN(1000)), PendingKnown: r.IntN(4) > 0}
		next, reason := decideConcurrency(in)
		if next < lo || next > hi {
			t.Fatalf("decide(%+v) = %d (%s): outside %d..%d", in, next, reason, lo, hi)
		}
		if next > in.Concurrency+max(1, (in.Concurrency+9)/10) || next < int(float64(in.Concurrency)*0.7)-1 {
			t.Fatalf("decide(%+v) = %d (%s): step too large", in, next, reason)
		}
	}
}

func TestBatchFollowsConcurrency(t *testing.T) {
	t.Parallel()
	o := &Orchestrator{cfg: Config{MaxConcurrent: 4, BatchSize: 16}}
	for c, want := range map[int]int{1: 4, 4: 16, 7: 28, 64: 256} {
		if got := o.batchFor(c); got != want {
			t.Errorf("batchFor(%d) = %d, want %d", c, got, want)
		}
	}
}

func tuneCfg(mod func(*Config)) Config {
	return cfgWith(func(c *Config) {
		c.AdaptiveOptimization = true
		c.TuneCooldown = 15 * time.Millisecond
		c.HealthCheckInterval = time.Hour
		mod(c)
	})
}

// checkChanges verifies every published change: within bounds, at most
// one per cooldown, and matching the stats.
func checkChanges(t *testing.T, b *loadBundle) []wire.TelemetryEvent {
	t.Helper()
	lo, hi := b.o.Config().TuneBounds()
	evs := b.tel.ofType(wire.TuningChanged)
	var prev time.Time
	for i, ev := range evs {
		d := ev.Data.(wire.TuningChangedData)
		n, at := d.New, d.At
		if n < lo || n > hi {
			t.Fatalf("change %d set concurrency %d outside %d..%d", i, n, lo, hi)
		}
		if i > 0 && at.Sub(prev) < b.o.Config().TuneCooldown {
			t.Fatalf("changes %d and %d only %s apart", i-1, i, at.Sub(prev))
		}
		prev = at
	}
	s := b.o.Stats()
	if s.TuningChanges < int64(len(evs)) || len(evs) == 0 {
		t.Fatalf("stats count %d changes, telemetry %d", s.TuningChanges, len(evs))
	}
	return evs
}

func waitReason(t *testing.T, b *loadBundle, reason string) {
	t.Helper()
	testkit.WaitFor(t, waitLimit, "a change for "+reason, func() bool {
		for _, ev := range b.tel.ofType(wire.TuningChanged) {
			if ev.Data.(wire.TuningChangedData).Reason == reason {
				return true
			}
		}
		return false
	})
}

func TestTunerRaisesWithHeadroomThenBacksOffOnOverrun(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, tuneCfg(func(c *Config) {
		c.MaxConcurrent, c.BatchSize, c.TuneMin, c.TuneMax, c.TargetCycle = 2, 4, 1, 6, 50*time.Millisecond
	}))
	b.src.pending.Store(1_000_000)
	b.eng.latency.Store(int64(time.Millisecond)) // cycles of ~2ms: plenty of headroom
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "concurrency to reach tune_max", func() bool { return b.o.Concurrency() == 6 })
	if b.o.BatchSize() != 12 {
		t.Fatalf("batch size = %d, want 12 (2 × concurrency, as configured)", b.o.BatchSize())
	}
	waitReason(t, b, reasonHeadroom)
	b.eng.latency.Store(int64(40 * time.Millisecond)) // cycles of ~80ms: over the 50ms target
	testkit.WaitFor(t, waitLimit, "concurrency to fall to tune_min", func() bool { return b.o.Concurrency() == 1 })
	waitReason(t, b, reasonOverTarget)
	// The knob is set before the change is recorded in the stats.
	testkit.WaitFor(t, waitLimit, "the last tuning recorded to be the fall to tune_min", func() bool {
		last := b.o.Stats().LastTuning
		return last.New == 1 && last.Reason == reasonOverTarget
	})
	checkChanges(t, b)
}

func TestTunerBacksOffOnErrorBurst(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, tuneCfg(func(c *Config) {
		c.MaxConcurrent, c.BatchSize, c.TuneMax, c.TargetCycle = 4, 8, 4, time.Second
	}))
	b.src.pending.Store(1_000_000)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "cycles at full concurrency", func() bool { return b.o.Stats().TotalCycles > 20 })
	b.eng.failPct.Store(50)
	testkit.WaitFor(t, waitLimit, "concurrency to fall", func() bool { return b.o.Concurrency() < 4 })
	waitReason(t, b, reasonErrorsRising)
	checkChanges(t, b)
}

func TestTunerDisabledChangesNothing(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, tuneCfg(func(c *Config) {
		c.AdaptiveOptimization = false
		c.MaxConcurrent, c.BatchSize, c.HealthCheckInterval = 2, 4, 5*time.Millisecond
	}))
	b.src.pending.Store(1_000_000) // headroom and backlog: an enabled tuner would raise
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "several health checks over many cycles", func() bool {
		return b.tel.count(wire.PerformanceMetric) >= 5 && b.o.Stats().TotalCycles >= 50
	})
	if b.o.Concurrency() != 2 || b.o.BatchSize() != 4 || b.tel.count(wire.TuningChanged) != 0 ||
		b.o.Stats().TuningChanges != 0 {
		t.Fatalf("disabled tuner changed something: concurrency %d batch %d changes %d",
			b.o.Concurrency(), b.o.BatchSize(), b.tel.count(wire.TuningChanged))
	}
}

// tuneOnce changes nothing within a cooldown of its last change, however
// strong the case.
func TestTunerAtMostOncePerCooldown(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, tuneCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize, c.TuneCooldown = 2, 4, time.Hour }))
	b.src.pending.Store(1_000_000)
	feed := func() {
		for range 5 {
			pe := ParallelExecution{DurationMS: 1, Events: 4, Succeeded: 4}
			b.o.stats.addCycle(pe, 4)
			b.o.afterCycle(pe)
		}
	}
	tu := &tuner{last: b.o.markNow()}
	feed()
	b.o.tuneOnce(context.Background(), tu)
	if b.o.Concurrency() != 3 {
		t.Fatalf("first pass: concurrency %d, want 3", b.o.Concurrency())
	}
	feed()
	b.o.tuneOnce(context.Background(), tu)
	if b.o.Concurrency() != 3 || b.o.Stats().TuningChanges != 1 {
		t.Fatalf("second pass within the cooldown changed concurrency to %d", b.o.Concurrency())
	}
}

// A window without enough samples is extended, not judged.
func TestTunerWaitsForSamples(t *testing.T) {
	t.Parallel()
	b := loadSetup(t, tuneCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize = 2, 4 }))
	b.src.pending.Store(1_000_000)
	tu := &tuner{last: b.o.markNow()}
	start := tu.last
	pe := ParallelExecution{DurationMS: 1, Events: 4, Succeeded: 4}
	for range 2 {
		b.o.stats.addCycle(pe, 4)
		b.o.afterCycle(pe)
		b.o.tuneOnce(context.Background(), tu)
	}
	if b.o.Concurrency() != 2 || tu.last != start {
		t.Fatalf("judged a window of 2 cycles: concurrency %d", b.o.Concurrency())
	}
	b.o.stats.addCycle(pe, 4)
	b.o.afterCycle(pe)
	b.o.tuneOnce(context.Background(), tu)
	if b.o.Concurrency() != 3 {
		t.Fatalf("3 cycles of 12 events with headroom: concurrency %d, want 3", b.o.Concurrency())
	}
}

func TestConfigTuningFields(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.MaxConcurrent = 8
	if lo, hi := c.TuneBounds(); lo != 1 || hi != 64 || c.TuneCooldown != TuneCooldownDefault {
		t.Fatalf("defaults: bounds %d..%d cooldown %s", lo, hi, c.TuneCooldown)
	}
	c.MaxConcurrent = 100
	if _, hi := c.TuneBounds(); hi != 400 {
		t.Fatalf("auto tune_max = %d, want 4 × max_concurrent", hi)
	}
	for field, mod := range map[string]func(*Config){
		"tune_min":       func(c *Config) { c.TuneMin = -1 },
		"tune_max":       func(c *Config) { c.TuneMin, c.TuneMax = 8, 4 },
		"max_concurrent": func(c *Config) { c.MaxConcurrent, c.TuneMax = 16, 8 },
		"tune_cooldown":  func(c *Config) { c.TuneCooldown = -time.Second },
		"memory_limit":   func(c *Config) { c.MemoryLimit = -1 },
	} {
		c := DefaultConfig()
		c.MaxConcurrent = 4
		mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %s", err, field)
		}
	}
	c = DefaultConfig()
	c.AdaptiveOptimization, c.MaxConcurrent, c.TuneMax = false, 16, 8
	if err := c.Validate(); err != nil {
		t.Fatalf("bounds are not checked against max_concurrent when the tuner is off: %v", err)
	}
}
