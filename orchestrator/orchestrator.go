package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/internal/cost"
)

// ErrAlreadyRunning is returned by a second Start.
var ErrAlreadyRunning = errors.New("orchestrator already running")

// ErrEventsFailed is returned by Wait when a non-autonomous run ended with
// failed events.
var ErrEventsFailed = errors.New("events failed")

// Deps are the parts an Orchestrator drives. Source, Engine and Deployer
// are required; the rest have working defaults.
type Deps struct {
	Source      Source
	Engine      Engine
	Deployer    Deployer
	Telemetry   Telemetry    // default: discard
	DeadLetters DeadLetterer // default: none (permanent failures are nak'ed, never lost)
	EngineGuard Guard        // default: pass-through
	DeployGuard Guard        // default: pass-through
	Logger      *slog.Logger // default: slog.Default()
	// Attempts keeps the delivery budget (default: none, and every
	// delivery counts against Config.MaxDeliver, deferrals included).
	Attempts AttemptLog
	// IsPermanent classifies errors no retry can fix (added to the built-in
	// check for wire.ErrPermanent).
	IsPermanent func(error) bool
	// Observer sees outcomes and cycles (default: none).
	Observer Observer
	// RateLimits paces the engine and deployer calls (default: none; an
	// empty one is dropped, so that no limit costs nothing).
	RateLimits RateLimiter
	// Cluster makes the scaling advice cluster-wide: each health interval
	// every replica reads the cluster, and only the leader publishes the
	// advice (scope cluster); no replica advises for itself. Default:
	// none, and the replica advises for itself (scope replica).
	Cluster Cluster
}

// Orchestrator runs regeneration cycles. Start and Stop may be called from
// any goroutine; Stats is a thread-safe snapshot.
type Orchestrator struct {
	cfg         Config
	deps        Deps
	group       GroupEngine // deps.Engine when it coalesces (grouped cycles), else nil
	limits      RateLimiter // deps.RateLimits when it holds a limit, else nil
	log         *slog.Logger
	stats       stats
	concurrency atomic.Int64
	batchSize   atomic.Int64
	inFlight    atomic.Int64
	gate        *gate
	lastExec    atomic.Pointer[ParallelExecution]
	cost        *cost.Tally // the events' costs since the last cost_report
	workers     sync.Pool   // of *worker: cycles reuse their workers' state
	capacity    capacityTracker

	mu  sync.Mutex
	run *run
}

// run is one Start..Stop lifetime.
type run struct {
	fetchCtx  context.Context // cancelled first on Stop: no new fetches or events
	stopFetch context.CancelFunc
	workCtx   context.Context // cancelled after the grace period: in-flight events give up
	stopWork  context.CancelFunc
	done      chan struct{} // closed when the fetch loop has ended
	health    chan struct{} // closed when the health loop has ended
	err       error
}

// New checks cfg and deps and returns a stopped Orchestrator.
func New(cfg Config, deps Deps) (*Orchestrator, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("orchestrator config: %w", err)
	}
	if deps.Source == nil || deps.Engine == nil || deps.Deployer == nil {
		return nil, errors.New("orchestrator: Source, Engine and Deployer are required")
	}
	deps = withDepDefaults(deps)
	o := &Orchestrator{cfg: cfg, deps: deps, log: deps.Logger.With(slog.String("component", "orchestrator"))}
	o.group, _ = deps.Engine.(GroupEngine)
	cpu, _ := cost.ProcessCPU()
	o.cost = cost.NewTally(time.Now(), cpu)
	if deps.RateLimits != nil && !deps.RateLimits.Empty() {
		o.limits = deps.RateLimits
	}
	o.concurrency.Store(int64(cfg.MaxConcurrent))
	o.gate = newGate(func() int { return int(o.concurrency.Load()) })
	o.batchSize.Store(int64(cfg.BatchSize))
	return o, nil
}

func withDepDefaults(d Deps) Deps {
	if d.Telemetry == nil {
		d.Telemetry = discardTelemetry{}
	}
	if d.EngineGuard == nil {
		d.EngineGuard = passGuard{}
	}
	if d.DeployGuard == nil {
		d.DeployGuard = passGuard{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	return d
}

// Config returns the effective configuration.
func (o *Orchestrator) Config() Config { return o.cfg }

// Start checks the source is reachable, then runs the loop in the
// background. ctx bounds only the start-up; Stop ends the loop. A failed
// Start leaves nothing running.
func (o *Orchestrator) Start(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.run != nil {
		return ErrAlreadyRunning
	}
	if _, err := o.deps.Source.Pending(ctx); err != nil {
		return fmt.Errorf("orchestrator start: source: %w", err)
	}
	r := &run{done: make(chan struct{}), health: make(chan struct{})}
	base := context.WithoutCancel(ctx)
	r.fetchCtx, r.stopFetch = context.WithCancel(base)
	r.workCtx, r.stopWork = context.WithCancel(base)
	o.run = r
	o.publish(startedData(o.cfg))
	o.log.InfoContext(ctx, "orchestrator started", slog.Int("max_concurrent", o.cfg.MaxConcurrent),
		slog.Bool("autonomous", o.cfg.Autonomous), slog.String("replica", o.cfg.Replica))
	go o.loop(r)
	go o.healthLoop(r)
	return nil
}

// IsRunning reports whether the loop is running (false once a
// non-autonomous run drained the backlog).
func (o *Orchestrator) IsRunning() bool {
	o.mu.Lock()
	r := o.run
	o.mu.Unlock()
	if r == nil {
		return false
	}
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// Stats returns a snapshot of the running totals.
func (o *Orchestrator) Stats() OrchestrationStats { return o.stats.snapshot() }

// LastExecution returns the record of the last finished cycle, or nil.
func (o *Orchestrator) LastExecution() *ParallelExecution { return o.lastExec.Load() }

// Concurrency returns the current bound on events in flight.
func (o *Orchestrator) Concurrency() int { return int(o.concurrency.Load()) }

// BatchSize returns the current number of events asked for per fetch.
func (o *Orchestrator) BatchSize() int { return int(o.batchSize.Load()) }

// InFlight returns how many events are being processed right now.
func (o *Orchestrator) InFlight() int { return int(o.inFlight.Load()) }

// Breakers returns the state of every guard that reports one
// (component -> "closed", "open" or "half-open").
func (o *Orchestrator) Breakers() map[string]string {
	out := map[string]string{}
	for _, g := range []Guard{o.deps.EngineGuard, o.deps.DeployGuard} {
		if sg, ok := g.(StatefulGuard); ok {
			out[sg.Component()] = sg.State()
		}
	}
	return out
}

// Done returns a channel closed when the loop has ended (after Stop, or
// when a non-autonomous run drained the backlog); nil if not started.
func (o *Orchestrator) Done() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.run == nil {
		return nil
	}
	return o.run.done
}

// Stop stops fetching, lets in-flight events finish within ShutdownGrace
// (then cancels them: they are nak'ed for immediate redelivery), publishes
// the final telemetry and flushes it. It returns ErrEventsFailed for a
// non-autonomous run in which events failed. Safe to call twice.
func (o *Orchestrator) Stop(ctx context.Context) error {
	o.mu.Lock()
	r := o.run
	o.run = nil
	o.mu.Unlock()
	if r == nil {
		return nil
	}
	r.stopFetch()
	o.awaitLoop(ctx, r)
	o.publishFinal()
	if err := o.deps.Telemetry.Flush(ctx); err != nil && ctx.Err() == nil {
		o.log.WarnContext(ctx, "telemetry flush failed", slog.Any("error", err))
	}
	o.log.InfoContext(ctx, "orchestrator stopped")
	return r.err
}

func (o *Orchestrator) awaitLoop(ctx context.Context, r *run) {
	grace := time.NewTimer(o.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-r.done:
	case <-grace.C:
		o.log.Warn("shutdown grace elapsed: cancelling in-flight events", slog.Duration("grace", o.cfg.ShutdownGrace))
	case <-ctx.Done():
	}
	r.stopWork()
	<-r.done
	<-r.health
}
