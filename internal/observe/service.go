package observe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures Start. The zero value (plus Replica) publishes replica
// stats and serves no HTTP.
type Config struct {
	// HTTP is the metrics and probe server's address ("" = no server).
	HTTP string
	// Pprof serves /debug/pprof/ on the HTTP server.
	Pprof bool
	// Console, when set, is served at / on the HTTP server.
	Console http.Handler
	// Replica is this replica's id (required).
	Replica string
	// Version is reported in the replica's stats (BuildVersion()).
	Version string
	// StatsInterval is the time between stats snapshots (StatsIntervalDefault).
	StatsInterval time.Duration
	// Stream and Consumer name the shared consumer the readiness probe and
	// regen_consumer_pending look at (wire.ChangesStream, wire.ConsumerDefault).
	Stream, Consumer string
	// Consumers, when set, replaces Consumer: the probes look at each
	// (readiness needs them all) and regen_consumer_pending sums them.
	Consumers []string
	// Levels, when set, maps each priority level to its consumer: the
	// regen_consumer_paused{priority} gauges read them.
	Levels map[wire.Priority]string
	// CheckTimeout bounds each readiness check and each pending read
	// (CheckTimeoutDefault).
	CheckTimeout time.Duration
	// Logger is used by the server and the registry (slog.Default()).
	Logger *slog.Logger
	// OnReplicas is told the live replica count after each snapshot (see
	// RegistryConfig.OnReplicas); nil: not counted.
	OnReplicas func(n int)
}

// Deps are the running parts Start observes; all are required but Metrics.
type Deps struct {
	// Metrics is the Observer the orchestrator was built with (NewMetrics() if nil).
	Metrics      *Metrics
	Orchestrator Orchestrator
	Conn         *nats.Conn
	JetStream    jetstream.JetStream
	// Live are liveness checks of the replica's own parts (e.g. an engine
	// with too many abandoned renders), run after the connection's.
	Live []Check
}

// Service is a replica's observability: metrics gauges, the HTTP server
// and the replica registry. Drain and Stop are safe to call twice.
type Service struct {
	metrics  *Metrics
	server   *Server // nil without Config.HTTP
	registry *Registry
}

// Start attaches the gauges, starts the HTTP server (when cfg.HTTP is set)
// and the replica registry. On error nothing is left running.
func Start(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics()
	}
	if deps.Orchestrator == nil || deps.Conn == nil || deps.JetStream == nil {
		return nil, errors.New("observe: Orchestrator, Conn and JetStream are required")
	}
	p := probes{cfg: cfg, deps: deps}
	deps.Metrics.Attach(deps.Orchestrator, p.pending, cfg.CheckTimeout)
	if len(cfg.Levels) > 0 {
		deps.Metrics.AttachPaused(p.pausedFuncs(), cfg.CheckTimeout)
	}
	kv, err := deps.JetStream.KeyValue(ctx, wire.ReplicasBucket)
	if err != nil {
		return nil, fmt.Errorf("observe: replicas bucket: %w", err)
	}
	s := &Service{metrics: deps.Metrics, registry: NewRegistry(kv, deps.Orchestrator, RegistryConfig{
		Replica: cfg.Replica, Version: cfg.Version, Interval: cfg.StatsInterval, Logger: cfg.Logger, OnReplicas: cfg.OnReplicas})}
	if cfg.HTTP != "" {
		s.server = NewServer(ServerConfig{Addr: cfg.HTTP, Metrics: deps.Metrics.Handler(), Pprof: cfg.Pprof,
			Console: cfg.Console, Live: p.live(), Checks: p.checks(), CheckTimeout: cfg.CheckTimeout, Logger: cfg.Logger})
		if err := s.server.Start(); err != nil {
			return nil, fmt.Errorf("observe: %w", err)
		}
	}
	s.registry.Start(ctx)
	return s, nil
}

func (c Config) withDefaults() Config {
	c.Stream = cmp.Or(c.Stream, wire.ChangesStream)
	c.Consumer = cmp.Or(c.Consumer, wire.ConsumerDefault)
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = CheckTimeoutDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Metrics returns the metrics the service exports.
func (s *Service) Metrics() *Metrics { return s.metrics }

// HTTPAddr is the HTTP server's listen address ("" without one).
func (s *Service) HTTPAddr() string {
	if s == nil || s.server == nil {
		return ""
	}
	return s.server.Addr()
}

// Drain marks the replica as stopping: /readyz answers 503 from now on.
// Call it first when stopping begins. Nil-safe.
func (s *Service) Drain() {
	if s != nil && s.server != nil {
		s.server.Drain()
	}
}

// Stop drains, deletes the replica's stats key and shuts the HTTP server
// down gracefully within ctx. Nil-safe.
func (s *Service) Stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.Drain()
	err := s.registry.Stop(ctx)
	if s.server != nil {
		err = errors.Join(err, s.server.Shutdown(ctx))
	}
	return err
}

// probes are the readiness checks and the pending reader of a replica.
type probes struct {
	cfg  Config
	deps Deps
}

// live are the liveness checks: a closed connection never comes back.
func (p probes) live() []Check {
	return append([]Check{{Name: "nats_open", Fn: p.open}}, p.deps.Live...)
}

func (p probes) open(context.Context) error {
	if p.deps.Conn.IsClosed() {
		return errors.New("nats connection is closed for good")
	}
	return nil
}

func (p probes) checks() []Check {
	return []Check{{Name: "nats", Fn: p.connected}, {Name: "consumer", Fn: p.consumerBound},
		{Name: "orchestrator", Fn: p.running}}
}

func (p probes) connected(context.Context) error {
	if st := p.deps.Conn.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats connection is %s", st)
	}
	return nil
}

func (p probes) consumerBound(ctx context.Context) error {
	for _, name := range p.consumers() {
		if _, err := p.deps.JetStream.Consumer(ctx, p.cfg.Stream, name); err != nil {
			return fmt.Errorf("consumer %s/%s: %w", p.cfg.Stream, name, err)
		}
	}
	return nil
}

// consumers are Consumers, or Consumer alone.
func (p probes) consumers() []string {
	if len(p.cfg.Consumers) > 0 {
		return p.cfg.Consumers
	}
	return []string{p.cfg.Consumer}
}

func (p probes) running(context.Context) error {
	if !p.deps.Orchestrator.IsRunning() {
		return errors.New("orchestrator is not running")
	}
	return nil
}

func (p probes) pending(ctx context.Context) (uint64, error) {
	var total uint64
	for _, name := range p.consumers() {
		c, err := p.deps.JetStream.Consumer(ctx, p.cfg.Stream, name)
		if err != nil {
			return 0, fmt.Errorf("consumer %s/%s: %w", p.cfg.Stream, name, err)
		}
		info := c.CachedInfo()
		total += info.NumPending + uint64(info.NumAckPending)
	}
	return total, nil
}

// pausedFuncs reads, per level, whether its consumer is paused (1) or
// not (0).
func (p probes) pausedFuncs() map[string]PendingFunc {
	out := map[string]PendingFunc{}
	for level, name := range p.cfg.Levels {
		out[string(level)] = func(ctx context.Context) (uint64, error) {
			c, err := p.deps.JetStream.Consumer(ctx, p.cfg.Stream, name)
			if err != nil {
				return 0, fmt.Errorf("consumer %s/%s: %w", p.cfg.Stream, name, err)
			}
			if c.CachedInfo().Paused {
				return 1, nil
			}
			return 0, nil
		}
	}
	return out
}
