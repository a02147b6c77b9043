package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/regen-dev/regen/workers/graph"

	"github.com/regen-dev/regen/workers/exec"

	"github.com/regen-dev/regen/workers/deploy"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/orchestrator"

	"github.com/nats-io/nats.go/jetstream"
)

// build wires engine, deployers, guards and the orchestrator.
func (s *Service) build(ctx context.Context) (*orchestrator.Orchestrator, error) {
	var err error
	if s.limits, err = s.rateLimits(); err != nil {
		return nil, err
	}
	eng, err := s.engine(ctx)
	if err != nil {
		return nil, err
	}
	dep, err := s.deployers(ctx)
	if err != nil {
		return nil, err
	}
	s.tel = bus.NewTelemetry(s.nc, s.cfg.Orchestrator.Replica)
	s.metrics = observe.NewMetrics()
	engGuard, err := s.guard("engine")
	if err != nil {
		return nil, err
	}
	depGuard, err := s.guard("deployer")
	if err != nil {
		return nil, err
	}
	src, err := s.source(ctx)
	if err != nil {
		return nil, err
	}
	attempts, err := s.js.KeyValue(ctx, wire.AttemptsBucket)
	if err != nil {
		return nil, fmt.Errorf("attempts bucket: %w", err)
	}
	cluster, err := s.startCluster(ctx)
	if err != nil {
		return nil, err
	}
	engine, deployer := s.injectFaults(eng, dep)
	return orchestrator.New(s.cfg.Orchestrator, orchestrator.Deps{Source: src, Engine: engine, Deployer: deployer,
		Telemetry: s.tel, DeadLetters: s.deadLetters(), EngineGuard: engGuard, DeployGuard: depGuard,
		Attempts: bus.NewAttempts(attempts), Logger: s.log, Observer: s.metrics, RateLimits: s.limits,
		Cluster: cluster})
}

// source is the single consumer's Source, or with priority_levels the
// PrioritySource over the level consumers'.
func (s *Service) source(ctx context.Context) (orchestrator.Source, error) {
	sc := bus.SourceConfig{Consumer: s.cfg.Consumer.Name}
	if !s.cfg.Orchestrator.PriorityLevels {
		return bus.NewSource(ctx, s.js, sc)
	}
	srcs, err := bus.NewLevelSources(ctx, s.js, sc, orchestrator.Levels[:])
	if err != nil {
		return nil, err
	}
	var levels [len(orchestrator.Levels)]orchestrator.LevelSource
	for i, src := range srcs {
		levels[i] = src
	}
	return orchestrator.NewPrioritySource(levels, s.cfg.Orchestrator.Priority(), 0)
}

// consumers names the durable consumers the replica fetches from.
func (s *Service) consumers() []string {
	if !s.cfg.Orchestrator.PriorityLevels {
		return []string{s.cfg.Consumer.Name}
	}
	out := make([]string, len(orchestrator.Levels))
	for i, p := range orchestrator.Levels {
		out[i] = bus.LevelConsumer(s.cfg.Consumer.Name, p)
	}
	return out
}

// levels maps each priority level to its consumer (nil without
// priority_levels).
func (s *Service) levels() map[wire.Priority]string {
	if !s.cfg.Orchestrator.PriorityLevels {
		return nil
	}
	out := map[wire.Priority]string{}
	for _, p := range orchestrator.Levels {
		out[p] = bus.LevelConsumer(s.cfg.Consumer.Name, p)
	}
	return out
}

// deadLetters is the DLQ; a dead letter stores at most max_payload bytes
// of its event (an oversize one is truncated).
func (s *Service) deadLetters() *bus.DeadLetters {
	return bus.NewDeadLetters(s.js, bus.WithMaxStored(s.cfg.Orchestrator.MaxPayload))
}

// startObserve attaches the metrics gauges, starts the HTTP server (with
// --http, the console at /) and the replica registry.
func (s *Service) startObserve(ctx context.Context) (*observe.Service, error) {
	con, err := s.startConsole(ctx)
	if err != nil {
		return nil, err
	}
	obs, err := observe.Start(ctx, observe.Config{HTTP: s.cfg.HTTP, Pprof: s.cfg.Pprof, Console: con,
		Replica: s.cfg.Orchestrator.Replica, StatsInterval: s.cfg.StatsInterval, Consumers: s.consumers(),
		Levels: s.levels(), Logger: s.log, OnReplicas: s.onReplicas()},
		observe.Deps{Metrics: s.metrics, Orchestrator: s.orch, Conn: s.nc, JetStream: s.js, Live: s.liveChecks()})
	if err != nil {
		s.stopConsole(ctx)
		return nil, err
	}
	s.logConsole(obs.HTTPAddr())
	return obs, nil
}

// liveChecks are the replica's own liveness checks: a graph engine with
// too many abandoned renders still running can only be freed by a restart.
func (s *Service) liveChecks() []observe.Check {
	if s.graph == nil {
		return nil
	}
	return []observe.Check{{Name: "renders", Fn: func(context.Context) error { return s.graph.Stuck() }}}
}

// engine builds the configured engine: the graph engine over the KV model,
// or the exec engine running the generator command.
func (s *Service) engine(ctx context.Context) (orchestrator.Engine, error) {
	if s.cfg.Engine == "exec" {
		return exec.NewEngine(exec.Config{Command: s.cfg.Exec.Command, Timeout: s.cfg.Exec.Timeout})
	}
	kv, err := s.js.KeyValue(ctx, wire.ModelBucket)
	if err != nil {
		return nil, fmt.Errorf("model bucket: %w", err)
	}
	s.graph, err = graph.NewEngine(ctx, graph.Config{Templates: s.cfg.Templates,
		Model: graph.NewModel(kv), Logger: s.log, Stale: stalePublisher{js: s.js}})
	if err != nil {
		return nil, err
	}
	return s.graph, nil
}

// stalePublisher hands the graph engine's derived re-renders to the
// changes stream as artifact_stale events, for any replica to take.
type stalePublisher struct{ js jetstream.JetStream }

func (p stalePublisher) PublishStale(ctx context.Context, cause wire.Change, tasks []graph.StaleTask) error {
	evs := make([]wire.ChangeEvent, len(tasks))
	for i, t := range tasks {
		evs[i] = graph.StaleEvent(cause, t)
	}
	return bus.PublishChanges(ctx, p.js, wire.PriorityNormal, evs)
}

func (s *Service) deployers(ctx context.Context) (orchestrator.Deployer, error) {
	kv, err := s.js.KeyValue(ctx, wire.ArtifactBucket)
	if err != nil {
		return nil, fmt.Errorf("ledger bucket: %w", err)
	}
	targets, err := s.cfg.Targets()
	if err != nil {
		return nil, err
	}
	validate, err := s.validation()
	if err != nil {
		return nil, err
	}
	var all deploy.Fanout
	for _, t := range targets {
		name := t.Kind + ":" + t.Arg
		l := deploy.NewLedger(kv, name)
		// A claim outlives the longest deploy call, no longer: a replica
		// that crashed mid-deploy blocks the path for one call timeout.
		l.Lease = s.cfg.Breaker.CallTimeout
		d, err := s.deployer(ctx, t, l)
		if err != nil {
			return nil, err
		}
		if err := validate(d, t); err != nil {
			return nil, err
		}
		all = append(all, s.limitTarget(deploy.Measured{Target: name, Deployer: d}, t))
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

func (s *Service) deployer(ctx context.Context, t config.Target, l *deploy.Ledger) (orchestrator.Deployer, error) {
	if t.Kind == "dir" {
		return &deploy.Dir{Root: t.Arg, Ledger: l}, nil
	}
	store, err := s.js.ObjectStore(ctx, t.Arg)
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", t.Arg, err)
	}
	return &deploy.ObjectStore{Store: store, Ledger: l}, nil
}

// guard builds a breaker whose state changes become telemetry.
func (s *Service) guard(component string) (*breaker.Guard, error) {
	return breaker.New(component, s.cfg.Breaker,
		breaker.WithLogger(s.log),
		breaker.WithStateChange(func(sc breaker.StateChange) {
			err := s.tel.Publish(wire.TelemetryEvent{Type: wire.BreakerStateChanged, Component: sc.Component,
				Data: breakerData(sc)})
			if err != nil {
				s.log.Warn("breaker telemetry", slog.Any("error", err))
			}
		}))
}

// breakerData is the breaker_state_changed data of sc.
func breakerData(sc breaker.StateChange) wire.BreakerStateChangedData {
	return wire.BreakerStateChangedData{Component: sc.Component, From: sc.From, To: sc.To,
		Counts: wire.BreakerCounts(sc.Counts)}
}

// The graph engine coalesces the events of one node in a batch.
var _ orchestrator.GroupEngine = (*graph.Engine)(nil)
