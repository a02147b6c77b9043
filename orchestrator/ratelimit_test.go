package orchestrator

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/ratelimit"
)

type limitBundle struct {
	o   *Orchestrator
	eng *fakeEngine
	tel *fakeTelemetry
	dlq *fakeDLQ
	log *fakeAttempts
}

// setupLimits builds an orchestrator paced by limits (key -> events/s,
// burst 1) whose events have timeout to finish.
func setupLimits(t *testing.T, timeout time.Duration, limits map[string]float64) *limitBundle {
	t.Helper()
	return setupLimitsWith(t, timeout, limits, ratelimit.Options{})
}

// setupLimitsWith is setupLimits with the limits' options.
func setupLimitsWith(t *testing.T, timeout time.Duration, limits map[string]float64, opts ratelimit.Options) *limitBundle {
	t.Helper()
	var ls []ratelimit.Limit
	for k, r := range limits {
		ls = append(ls, ratelimit.Limit{Key: k, PerSecond: r, Burst: 1})
	}
	b := &limitBundle{eng: &fakeEngine{artifacts: 1}, tel: &fakeTelemetry{}, dlq: &fakeDLQ{}, log: &fakeAttempts{}}
	o, err := New(cfgWith(func(c *Config) { c.EventTimeout, c.MaxConcurrent = timeout, 4 }),
		Deps{Source: &fakeSource{}, Engine: b.eng, Deployer: &fakeDeployer{}, DeadLetters: b.dlq, Telemetry: b.tel,
			Attempts: b.log, RateLimits: ratelimit.New(ls, opts),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.o = o
	return b
}

func (b *limitBundle) cycle(msgs ...*fakeMsg) ParallelExecution {
	ctx := context.Background()
	batch := make([]wire.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = m
	}
	return b.o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, batch, nil)
}

func sourcedMsg(i int, source string) *fakeMsg {
	m := validMsg(i)
	var ev map[string]any
	_ = json.Unmarshal(m.data, &ev)
	ev["source"] = source
	m.data, _ = json.Marshal(ev)
	return m
}

func TestAnEventWithinItsBudgetWaitsForItsToken(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, 10*time.Second, map[string]float64{ratelimit.Engine: 20})
	start := time.Now()
	pe := b.cycle(validMsg(1), validMsg(2), validMsg(3))
	if pe.Succeeded != 3 || pe.Deferred != 0 {
		t.Fatalf("cycle %+v, want 3 succeeded", pe)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("3 events at 20/s (burst 1) took %s, want at least 100ms", d)
	}
}

func TestAnEventOverTheLimitIsNakedAsADeferral(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, 100*time.Millisecond, map[string]float64{ratelimit.Engine: 0.1})
	first, second := validMsg(1), validMsg(2)
	pe := b.cycle(first, second)
	if pe.Succeeded != 1 || pe.Deferred != 1 || pe.Failed != 0 || pe.Rejected != 0 {
		t.Fatalf("cycle %+v, want one succeeded and one deferred", pe)
	}
	limited := second
	if acked, _, _ := second.state(); acked == 1 {
		limited = first
	}
	limited.mu.Lock()
	naks := append([]time.Duration(nil), limited.naks...)
	limited.mu.Unlock()
	if len(naks) != 1 || naks[0] < 5*time.Second {
		t.Fatalf("naks %v, want one with the token's delay (about 10s)", naks)
	}
	if rec, _ := b.log.Get(context.Background(), limited.seq); rec.Deferrals != 1 || rec.Failures != 0 {
		t.Fatalf("attempts %+v, want one deferral", rec)
	}
	if b.tel.count(wire.RegenerationFailed) != 0 || len(b.dlq.all()) != 0 || b.eng.calls.Load() != 1 {
		t.Fatal("a rate-limited event was failed, dead-lettered or regenerated")
	}
}

func TestALimitedEventIsReportedWithItsIDs(t *testing.T) {
	t.Parallel()
	for _, key := range []string{ratelimit.SourcePrefix + "crm", ratelimit.Deployer} {
		var (
			mu  sync.Mutex
			evs []ratelimit.Event
		)
		opts := ratelimit.Options{OnLimited: func(ev ratelimit.Event) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }}
		b := setupLimitsWith(t, 100*time.Millisecond, map[string]float64{key: 0.1}, opts)
		pe := b.cycle(sourcedMsg(1, "crm"), sourcedMsg(2, "crm"))
		mu.Lock()
		if pe.Deferred != 1 || len(evs) != 1 {
			t.Fatalf("%s: cycle %+v, limited %+v: want one event limited", key, pe, evs)
		}
		if ev := evs[0]; (ev.EventID != "ev-1" && ev.EventID != "ev-2") || ev.ExecutionID != pe.ExecutionID || !ev.Nak {
			t.Fatalf("%s: limited %+v, want ev-1 or ev-2 of execution %s", key, ev, pe.ExecutionID)
		}
		mu.Unlock()
	}
}

func TestASourceLimitPacesOnlyItsSource(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, 100*time.Millisecond, map[string]float64{ratelimit.SourcePrefix + "crm": 0.1})
	pe := b.cycle(sourcedMsg(1, "crm"), sourcedMsg(2, "crm"), sourcedMsg(3, "erp"), validMsg(4))
	if pe.Succeeded != 3 || pe.Deferred != 1 {
		t.Fatalf("cycle %+v, want the second crm event deferred, the rest succeeded", pe)
	}
}

func TestADeployerLimitDefersWithoutAFailure(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, 100*time.Millisecond, map[string]float64{ratelimit.Deployer: 0.1})
	pe := b.cycle(validMsg(1), validMsg(2))
	if pe.Succeeded != 1 || pe.Deferred != 1 || b.tel.count(wire.DeploymentFailed) != 0 {
		t.Fatalf("cycle %+v (deployment_failed %d), want one deferred and no failure", pe, b.tel.count(wire.DeploymentFailed))
	}
}

func TestAShutdownDuringAWaitReleasesTheEvent(t *testing.T) {
	t.Parallel()
	b := setupLimits(t, time.Minute, map[string]float64{ratelimit.Engine: 0.1})
	ctx, cancel := context.WithCancel(context.Background())
	b.eng.fail = func(wire.Change) error { cancel(); return nil } // the first event stops the run
	batch := []wire.Message{validMsg(1), validMsg(2)}
	pe := b.o.executeCycle(&run{fetchCtx: context.Background(), workCtx: ctx}, batch, nil)
	if pe.Succeeded != 1 || pe.Deferred != 1 || pe.Failed != 0 {
		t.Fatalf("cycle %+v, want the waiting event released", pe)
	}
}

// countingLimiter counts calls; it reports itself empty.
type countingLimiter struct{ calls atomic.Int64 }

func (c *countingLimiter) Empty() bool { c.calls.Add(1); return true }
func (c *countingLimiter) Take(context.Context, string, ratelimit.Ref, time.Duration) error {
	c.calls.Add(1)
	return nil
}

func TestNoLimitMeansNoLimiterCalls(t *testing.T) {
	t.Parallel()
	lim := &countingLimiter{}
	o, err := New(cfgWith(func(*Config) {}), Deps{Source: &fakeSource{}, Engine: &fakeEngine{artifacts: 1},
		Deployer: &fakeDeployer{}, RateLimits: lim, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pe := o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, []wire.Message{validMsg(1), validMsg(2)}, nil)
	if pe.Succeeded != 2 || lim.calls.Load() != 1 {
		t.Fatalf("cycle %+v, limiter calls %d: want only New's Empty", pe, lim.calls.Load())
	}
}

func TestAGroupTakesATokenPerChange(t *testing.T) {
	t.Parallel()
	ls := []ratelimit.Limit{{Key: ratelimit.Engine, PerSecond: 0.1, Burst: 2}}
	eng := &fakeGroupEngine{}
	o, err := New(cfgWith(func(c *Config) { c.EventTimeout = 100 * time.Millisecond }),
		Deps{Source: &fakeSource{}, Engine: eng, Deployer: &fakeDeployer{}, DeadLetters: &fakeDLQ{},
			RateLimits: ratelimit.New(ls, ratelimit.Options{}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	group := []wire.Message{nodeMsg(1, "a"), nodeMsg(2, "a")}
	if pe := o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, group, nil); pe.Succeeded+pe.Skipped != 2 {
		t.Fatalf("a group of two within the burst of two: %+v", pe)
	}
	pe := o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, []wire.Message{nodeMsg(3, "b"), nodeMsg(4, "b")}, nil)
	if pe.Deferred != 2 || pe.Failed != 0 {
		t.Fatalf("a group over the limit: %+v, want both deferred", pe)
	}
}

// progressMsg counts the InProgress its delivery gets.
type progressMsg struct {
	*fakeMsg
	progress atomic.Int64
}

func (m *progressMsg) InProgress() error { m.progress.Add(1); return nil }

func TestAWaitingEventGetsInProgress(t *testing.T) {
	t.Parallel()
	ls := []ratelimit.Limit{{Key: ratelimit.Engine, PerSecond: 4, Burst: 1}}
	o, err := New(cfgWith(func(c *Config) { c.AckWait, c.EventTimeout = 40*time.Millisecond, 10*time.Second }),
		Deps{Source: &fakeSource{}, Engine: &fakeEngine{artifacts: 1}, Deployer: &fakeDeployer{},
			RateLimits: ratelimit.New(ls, ratelimit.Options{}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first, second := &progressMsg{fakeMsg: validMsg(1)}, &progressMsg{fakeMsg: validMsg(2)}
	ctx := context.Background()
	pe := o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, []wire.Message{first, second}, nil)
	if pe.Succeeded != 2 {
		t.Fatalf("cycle %+v, want both succeeded after the wait", pe)
	}
	if n := first.progress.Load() + second.progress.Load(); n == 0 {
		t.Fatal("no InProgress during a 250ms wait with ack_wait 40ms")
	}
}
