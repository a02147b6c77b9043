package orchestrator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testBundle struct {
	src *fakeSource
	eng *fakeEngine
	dep *fakeDeployer
	dlq *fakeDLQ
	tel *fakeTelemetry
	o   *Orchestrator
}

func setup(t *testing.T, cfg Config) *testBundle {
	t.Helper()
	b := &testBundle{src: &fakeSource{}, eng: &fakeEngine{artifacts: 1}, dep: &fakeDeployer{},
		dlq: &fakeDLQ{}, tel: &fakeTelemetry{}}
	o, err := New(cfg, Deps{Source: b.src, Engine: b.eng, Deployer: b.dep, DeadLetters: b.dlq,
		Telemetry: b.tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.o = o
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return b
}

// waitLimit bounds every testkit.WaitFor of the package's tests.
const waitLimit = 10 * time.Second

func cfgWith(mod func(*Config)) Config {
	c := DefaultConfig()
	c.FetchWait = 5 * time.Millisecond
	mod(&c)
	return c
}

func TestStartTwiceIsAnError(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) {}))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.o.Start(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Start = %v, want ErrAlreadyRunning", err)
	}
	if !b.o.IsRunning() {
		t.Fatal("not running after Start")
	}
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.o.IsRunning() {
		t.Fatal("running after Stop")
	}
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
}

func TestFailedStartLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) {}))
	b.src.fetchErr = errors.New("nats down")
	if err := b.o.Start(context.Background()); err == nil {
		t.Fatal("Start succeeded with a broken source")
	}
	if b.o.IsRunning() || b.src.fetches.Load() != 0 {
		t.Fatal("a failed Start left the loop running")
	}
	b.src.fetchErr = nil
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatalf("Start after fixing the source: %v", err)
	}
}

func TestConcurrencyNeverAboveMax(t *testing.T) {
	t.Parallel()
	const limit = 4
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent = limit; c.BatchSize = 50 }))
	b.eng.block = make(chan struct{})
	for i := range 100 {
		b.src.push(validMsg(i))
	}
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "the pool to fill", func() bool { return b.eng.inFlight.Load() == limit })
	close(b.eng.block)
	testkit.WaitFor(t, waitLimit, "all events", func() bool { return b.o.Stats().EventsProcessed == 100 })
	if p := b.eng.peak.Load(); p != limit {
		t.Fatalf("peak in flight = %d, want exactly %d", p, limit)
	}
	if pe := b.o.LastExecution(); pe == nil || pe.AchievedParallelism > limit || pe.MaxConcurrent != limit {
		t.Fatalf("last execution = %+v", pe)
	}
}

func TestEveryResultCollected(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent = 3; c.BatchSize = 100 }))
	b.eng.fail = func(ch wire.Change) error {
		if ch.Seq%5 == 0 {
			return errTransient
		}
		return nil
	}
	msgs := make([]*fakeMsg, 0, 30)
	for i := range 30 {
		m := validMsg(i)
		if i%10 == 3 {
			m.data = []byte(`{"id":"bad","change_type":"nope","subject":"s"}`)
		}
		msgs = append(msgs, m)
		b.src.push(m)
	}
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "30 events", func() bool { return b.o.Stats().EventsProcessed == 30 })
	acked, naked, termed := 0, 0, 0
	for _, m := range msgs {
		a, n, term := m.state()
		acked, naked = acked+a, naked+n
		if term != "" {
			termed++
		}
	}
	// seq 5,10,...,30 fail (6); i=3,13,23 invalid (3); the rest succeed.
	if acked != 21 || naked != 6 || termed != 3 {
		t.Fatalf("acked=%d naked=%d termed=%d, want 21/6/3", acked, naked, termed)
	}
	s := b.o.Stats()
	if s.Failures != 9 || s.Rejected != 3 || s.DeploymentsCompleted != 21 || s.RegenerationsTriggered != 21 {
		t.Fatalf("stats = %+v", s)
	}
	if got := b.dlq.all(); len(got) != 3 || got[0] != wire.ReasonUnknownChangeType {
		t.Fatalf("dlq reasons = %v", got)
	}
	if b.tel.count(wire.EventRejected) != 3 || b.tel.count(wire.RegenerationFailed) != 6 {
		t.Fatal("missing event_rejected or regeneration_failed telemetry")
	}
}

func TestRedeliveredEventIsSkipped(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) {}))
	b.src.push(validMsg(1), validMsg(1))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "2 events", func() bool { return b.o.Stats().EventsProcessed == 2 })
	if s := b.o.Stats(); s.DeploymentsCompleted != 1 || s.Skipped != 1 {
		t.Fatalf("stats = %+v, want one deployment and one skip", s)
	}
}

// TestDeploymentStartedPrecedesCompleted checks that each written
// artifact gets one deployment_started before its deployment_completed, and
// that a skip (a redelivered event's artifacts) gets neither.
func TestDeploymentStartedPrecedesCompleted(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent = 4 }))
	b.eng.artifacts = 2
	b.src.push(validMsg(1), validMsg(2), validMsg(3))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "3 events", func() bool { return b.o.Stats().EventsProcessed == 3 })
	b.src.push(validMsg(2)) // redelivered: its artifacts are skipped
	testkit.WaitFor(t, waitLimit, "4 events", func() bool { return b.o.Stats().EventsProcessed == 4 })
	started, completed := b.tel.paths(wire.DeploymentStarted), b.tel.paths(wire.DeploymentCompleted)
	if len(started) != 6 || len(completed) != 6 {
		t.Fatalf("%d deployment_started and %d deployment_completed, want 6 each", len(started), len(completed))
	}
	order := map[string]int{}
	b.tel.mu.Lock()
	for i, ev := range b.tel.events {
		if p := pathOf(ev.Data); ev.Type == wire.DeploymentStarted {
			order[p] = i + 1
		} else if ev.Type == wire.DeploymentCompleted && (order[p] == 0 || order[p] > i) {
			t.Errorf("deployment_completed of %s without a deployment_started before it", p)
		}
	}
	b.tel.mu.Unlock()
}

func TestLastDeliveryIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxDeliver = 3 }))
	b.eng.fail = func(wire.Change) error { return errTransient }
	m := validMsg(1)
	m.deliveries = 3
	b.src.push(m)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "the event", func() bool { return b.o.Stats().EventsProcessed == 1 })
	if _, _, term := m.state(); term != wire.ReasonMaxDeliveries {
		t.Fatalf("term reason = %q", term)
	}
	if got := b.dlq.all(); len(got) != 1 || got[0] != wire.ReasonMaxDeliveries {
		t.Fatalf("dlq = %v", got)
	}
}

func TestDeadLetterFailureKeepsTheEvent(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) {}))
	b.dlq.err = errors.New("dlq stream unavailable")
	m := validMsg(1)
	m.data = []byte(`not json`)
	b.src.push(m)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "the event", func() bool { return b.o.Stats().EventsProcessed == 1 })
	if _, naks, term := m.state(); naks != 1 || term != "" {
		t.Fatalf("naks=%d term=%q: an undeliverable dead letter must be nak'ed, not termed", naks, term)
	}
}

func TestStopWaitsForInFlight(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent = 2; c.ShutdownGrace = time.Minute }))
	b.eng.block = make(chan struct{})
	m1, m2, m3 := validMsg(1), validMsg(2), validMsg(3)
	b.src.push(m1, m2, m3)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "two in flight", func() bool { return b.eng.inFlight.Load() == 2 })
	stopped := make(chan error, 1)
	go func() { stopped <- b.o.Stop(context.Background()) }()
	testkit.WaitFor(t, waitLimit, "stop to begin", func() bool { return !b.o.IsRunning() })
	close(b.eng.block)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	a1, _, _ := m1.state()
	a2, _, _ := m2.state()
	if a1+a2 != 2 {
		t.Fatal("in-flight events were not finished and acked")
	}
	if a3, n3, _ := m3.state(); a3+n3 != 1 {
		t.Fatalf("the unstarted event must be acked or released, got ack=%d nak=%d", a3, n3)
	}
	if b.tel.count(wire.RegenerationStarted) != 1 || b.tel.count(wire.RegenerationCompleted) < 2 {
		t.Fatal("missing start or final telemetry")
	}
}

func TestStopGraceCancelsAndReleases(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent = 1; c.ShutdownGrace = 10 * time.Millisecond }))
	b.eng.block = make(chan struct{}) // never closed: only ctx ends the work
	m := validMsg(1)
	b.src.push(m)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "in flight", func() bool { return b.eng.inFlight.Load() == 1 })
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, naks, term := m.state(); naks != 1 || term != "" {
		t.Fatalf("cancelled event: naks=%d term=%q, want a nak for redelivery", naks, term)
	}
	if s := b.o.Stats(); s.Failures != 0 || s.Deferred != 1 {
		t.Fatalf("stats = %+v: shutdown is not a failure", s)
	}
}

func TestOnceDrainsThenStops(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.Autonomous = false }))
	for i := range 20 {
		b.src.push(validMsg(i))
	}
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.o.Done()
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if s := b.o.Stats(); s.EventsProcessed != 20 {
		t.Fatalf("processed %d, want 20", s.EventsProcessed)
	}
}

func TestOnceReportsFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.Autonomous = false }))
	m := validMsg(1)
	m.data = []byte(`{}`)
	b.src.push(m, validMsg(2))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.o.Done()
	if err := b.o.Stop(context.Background()); !errors.Is(err, ErrEventsFailed) {
		t.Fatalf("Stop = %v, want ErrEventsFailed", err)
	}
}

func TestStatsRunningMean(t *testing.T) {
	t.Parallel()
	var st stats
	for _, ms := range []float64{10, 20, 30, 40} {
		st.addCycle(ParallelExecution{DurationMS: ms, Events: 2, Deployments: 1, Failed: 1}, 1)
	}
	s := st.snapshot()
	if s.TotalCycles != 4 || s.AvgCycleTimeMS != 25 || s.EventsProcessed != 8 ||
		s.DeploymentsCompleted != 4 || s.Failures != 4 || s.RegenerationsTriggered != 4 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestNakDelayGrows(t *testing.T) {
	t.Parallel()
	o := &Orchestrator{cfg: cfgWith(func(c *Config) { c.NakDelay = time.Second; c.NakDelayMax = 5 * time.Second })}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := o.nakDelay(uint64(i + 1)); got != w {
			t.Errorf("nakDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
}

func TestConfigValidateNamesEveryField(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.MaxConcurrent, c.BatchSize, c.TargetCycle = 0, -1, -time.Second
	err := c.Validate()
	for _, field := range []string{"max_concurrent", "batch_size", "target_cycle"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %s", err, field)
		}
	}
}
