package benchkit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/orchestrator"
)

// regenSpec is one timed drain of a backlog by the orchestrator.
type regenSpec struct {
	events, concurrency, batch int
	work, fetchWait            time.Duration
	asyncAck                   bool
	// started, when set, is called just before the clock starts, after the
	// connection, the orchestrator and the garbage collection (the Go
	// benchmarks start measuring CPU there, as they do for the loop);
	// drained, when set, as soon as the last event is done, before Stop
	// (they end their measurement there).
	started, drained func()
}

// wholeBatches rounds n up to a multiple of batch: a backlog of whole
// batches never leaves a last, partial fetch waiting out its fetch wait
// inside the measurement.
func wholeBatches(n, batch int) int { return (n + batch - 1) / batch * batch }

// regenResult is what one drain measured.
type regenResult struct {
	seconds    float64
	eventsPerS float64
	cycles     []orchestrator.ParallelExecution
	bad        int64
}

// runRegen fills the backlog, then times the orchestrator (its own
// connection, real Source, telemetry, DLQ and breakers, the wait engine)
// until every event was acked.
func (e *env) runRegen(ctx context.Context, log *slog.Logger, s regenSpec) (regenResult, error) {
	if err := e.prepare(ctx, s.events, 2*(s.concurrency+s.batch)); err != nil {
		return regenResult{}, err
	}
	return e.drainRegen(ctx, log, s)
}

// prepare provisions the consumer for maxAckPending and fills a backlog.
func (e *env) prepare(ctx context.Context, events, maxAckPending int) error {
	if err := e.provision(ctx, maxAckPending); err != nil {
		return err
	}
	return e.fill(ctx, events, genNodes(1000))
}

// drainRegen times the orchestrator draining a prepared backlog.
func (e *env) drainRegen(ctx context.Context, log *slog.Logger, s regenSpec) (regenResult, error) {
	nc, js, err := e.connect(ctx, "regen-bench-orchestrator")
	if err != nil {
		return regenResult{}, err
	}
	defer nc.Close()
	obs := newCountObserver(s.events)
	o, err := newOrchestrator(ctx, nc, js, log, orchConfig(s.concurrency, s.batch, s.fetchWait), waitEngine{s.work}, obs, s.asyncAck)
	if err != nil {
		return regenResult{}, err
	}
	settle()
	if s.started != nil {
		s.started()
	}
	d, err := timeDrain(ctx, o, obs, s.drained)
	if err != nil {
		return regenResult{}, err
	}
	return regenResult{seconds: d.Seconds(), eventsPerS: float64(s.events) / d.Seconds(),
		cycles: obs.cyclesSeen(), bad: obs.bad.Load()}, nil
}

// timeDrain starts o, waits until obs saw every event done, stops o.
func timeDrain(ctx context.Context, o *orchestrator.Orchestrator, obs *countObserver, drained func()) (time.Duration, error) {
	start := time.Now()
	if err := o.Start(ctx); err != nil {
		return 0, fmt.Errorf("bench orchestrator: %w", err)
	}
	var err error
	select {
	case <-obs.done:
	case <-ctx.Done():
		err = fmt.Errorf("bench drain: %d of %d events: %w", obs.n.Load(), obs.target, ctx.Err())
	}
	d := time.Since(start)
	if drained != nil {
		drained()
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := o.Stop(stopCtx); serr != nil && err == nil {
		err = fmt.Errorf("bench orchestrator stop: %w", serr)
	}
	return d, err
}

// orchConfig is the orchestrator configuration of the synthetic runs:
// the defaults, fixed concurrency and batch, no adaptive tuning (it would
// move the knobs the run is measuring).
func orchConfig(concurrency, batch int, fetchWait time.Duration) orchestrator.Config {
	c := orchestrator.DefaultConfig()
	c.MaxConcurrent, c.BatchSize, c.FetchWait = concurrency, batch, fetchWait
	c.AdaptiveOptimization = false
	c.Replica = "regen-bench"
	return c
}

// newOrchestrator wires an orchestrator as internal/app does, with eng and
// a no-op deployer.
func newOrchestrator(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, log *slog.Logger,
	cfg orchestrator.Config, eng orchestrator.Engine, obs orchestrator.Observer, asyncAck bool) (*orchestrator.Orchestrator, error) {
	src, err := prioritySource(ctx, js, asyncAck)
	if err != nil {
		return nil, fmt.Errorf("bench source: %w", err)
	}
	engGuard, err := breaker.New("engine", breaker.Config{})
	if err != nil {
		return nil, fmt.Errorf("bench guard: %w", err)
	}
	depGuard, err := breaker.New("deployer", breaker.Config{})
	if err != nil {
		return nil, fmt.Errorf("bench guard: %w", err)
	}
	o, err := orchestrator.New(cfg, orchestrator.Deps{Source: src, Engine: eng, Deployer: noopDeployer{},
		Telemetry: bus.NewTelemetry(nc, cfg.Replica), DeadLetters: bus.NewDeadLetters(js),
		EngineGuard: engGuard, DeployGuard: depGuard, Logger: log, Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("bench orchestrator: %w", err)
	}
	return o, nil
}

// prioritySource is the Source regen run builds by default: a
// PrioritySource over the level consumers provision created.
func prioritySource(ctx context.Context, js jetstream.JetStream, asyncAck bool) (*orchestrator.PrioritySource, error) {
	srcs, err := bus.NewLevelSources(ctx, js, bus.SourceConfig{AsyncAck: asyncAck}, orchestrator.Levels[:])
	if err != nil {
		return nil, err
	}
	var levels [len(orchestrator.Levels)]orchestrator.LevelSource
	for i, src := range srcs {
		levels[i] = src
	}
	return orchestrator.NewPrioritySource(levels, orchestrator.PriorityConfig{}, 0)
}

// countObserver closes done once target events ended acked (succeeded or
// skipped) and keeps every cycle record.
type countObserver struct {
	target int64
	n, bad atomic.Int64
	done   chan struct{}
	mu     sync.Mutex
	cycles []orchestrator.ParallelExecution
}

func newCountObserver(target int) *countObserver {
	return &countObserver{target: int64(target), done: make(chan struct{})}
}

// EventDone counts acked events; others (nak'ed) come back and count then.
func (c *countObserver) EventDone(outcome string, _ time.Duration) {
	if outcome != "succeeded" && outcome != "skipped" {
		c.bad.Add(1)
		return
	}
	if c.n.Add(1) == c.target {
		close(c.done)
	}
}

// CycleDone keeps the cycle's record.
func (c *countObserver) CycleDone(pe orchestrator.ParallelExecution) {
	c.mu.Lock()
	c.cycles = append(c.cycles, pe)
	c.mu.Unlock()
}

func (c *countObserver) cyclesSeen() []orchestrator.ParallelExecution {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]orchestrator.ParallelExecution(nil), c.cycles...)
}
