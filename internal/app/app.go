package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/embedded"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/console"
	"github.com/regen-dev/regen/internal/lease"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/ratelimit"
	"github.com/regen-dev/regen/orchestrator"
	"github.com/regen-dev/regen/workers/graph"
)

// Service is one running regen replica.
type Service struct {
	cfg  config.Config
	log  *slog.Logger
	srv  *server.Server // nil when joining an external server
	nc   *nats.Conn
	js   jetstream.JetStream
	orch *orchestrator.Orchestrator
	tel  *bus.Telemetry
	reap []*bus.Reaper
	// metrics is the orchestrator's Observer; obs serves it with the
	// probes and publishes the replica's stats.
	metrics *observe.Metrics
	obs     *observe.Service
	console *console.Console // nil without --http
	// consoleFragment is "#token=..." when the console's token was generated.
	consoleFragment string
	graph           *graph.Engine // nil with the exec engine
	// limits are the replica's rate limiters (empty without rate_limits).
	limits *ratelimit.Set
	// lease is the leadership lease of the cluster scaling advice.
	lease *lease.Lease
	// done closes when the loop ends by itself or the connection closes
	// for good (lost says why); status is the connection's CLOSED listener.
	done   chan struct{}
	status chan nats.Status
	lost   atomic.Pointer[error]
}

// Start brings a replica up: embedded server if cfg.NATS.URL is empty,
// connect, provision, wire, start the orchestrator. On error everything
// already started is stopped again.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (svc *Service, err error) {
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil && s.nc != nil && s.nc.IsClosed() {
			err = fmt.Errorf("%w (%w)", s.connectionLost(), err) // the cause, not its symptom
		}
		if err != nil {
			s.teardown()
		}
	}()
	url, err := s.startServer()
	if err != nil {
		return nil, err
	}
	if s.nc, s.js, err = bus.Connect(ctx, connConfig(cfg, url, log)); err != nil {
		return nil, err
	}
	s.status = s.nc.StatusChanged(nats.CLOSED) // from now on: a close during Start is not missed
	info, err := bus.Describe(ctx, s.nc, s.js)
	if err != nil {
		return nil, err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "connected to NATS", info.Attrs()...)
	if err = bus.Provision(ctx, s.js, provisionConfig(cfg)); err != nil {
		return nil, err
	}
	if s.orch, err = s.build(ctx); err != nil {
		return nil, err
	}
	s.warnSizing()
	if err = s.orch.Start(ctx); err != nil {
		return nil, err
	}
	if err = s.startReaper(ctx); err != nil {
		_ = s.orch.Stop(ctx)
		return nil, err
	}
	if s.obs, err = s.startObserve(ctx); err != nil {
		_ = s.orch.Stop(ctx)
		s.stopReaper()
		return nil, err
	}
	s.watchConnection()
	return s, nil
}

func (s *Service) startServer() (string, error) {
	if s.cfg.NATS.URL != "" {
		return s.cfg.NATS.URL, nil
	}
	srv, err := embedded.Start(embedded.Config{Listen: s.cfg.Embedded.Listen,
		StoreDir: filepath.Join(s.cfg.Embedded.DataDir, "jetstream"), SyncAlways: s.cfg.Embedded.Sync == "always"})
	if err != nil {
		return "", err
	}
	s.srv = srv
	s.log.Info("embedded nats-server started", slog.String("url", srv.ClientURL()),
		slog.String("data_dir", s.cfg.Embedded.DataDir))
	return srv.ClientURL(), nil
}

// connConfig is the bus connection configuration for cfg (url overrides).
func connConfig(cfg config.Config, url string, log *slog.Logger) bus.ConnConfig {
	n := cfg.NATS
	return bus.ConnConfig{URLs: url, Name: "regen " + cfg.Orchestrator.Replica, Creds: n.Creds, User: n.User,
		Password: n.Password, Token: n.Token, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey, Logger: log}
}

func provisionConfig(cfg config.Config) bus.ProvisionConfig {
	pc := bus.ProvisionConfig{Replicas: cfg.NATS.Replicas, Dedupe: cfg.Consumer.Dedupe,
		// The orchestrator keeps the delivery budget (deferrals spend none
		// of it), so the server never gives up on an event by itself.
		Consumer: cfg.Consumer.Name, AckWait: cfg.Orchestrator.AckWait, MaxDeliver: -1,
		MaxAckPending: cfg.Consumer.MaxAckPending, ReplicaTTL: 3 * cfg.StatsInterval,
		LeaderTTL:       max(3*cfg.Orchestrator.HealthCheckInterval, time.Second),
		TelemetryMaxAge: cfg.Telemetry.MaxAge, TelemetryMaxBytes: cfg.Telemetry.MaxBytes,
		DLQMaxBytes: cfg.DLQ.MaxBytes, DLQMaxMsgs: cfg.DLQ.MaxMsgs, DLQMaxAge: cfg.DLQ.MaxAge,
		Region: cfg.Region.Name, Peers: cfg.Region.Peers, IngestMaxAge: cfg.Region.IngestMaxAge}
	if cfg.Orchestrator.PriorityLevels {
		pc.Levels = wire.Priorities
	}
	targets, _ := cfg.Targets()
	for _, t := range targets {
		if t.Kind == "objectstore" {
			pc.ObjectStore = t.Arg
		}
	}
	return pc
}

// Orchestrator returns the replica's orchestrator.
func (s *Service) Orchestrator() *orchestrator.Orchestrator { return s.orch }

// ClientURL is the URL of the NATS server the replica uses.
func (s *Service) ClientURL() string { return s.nc.ConnectedUrl() }

// Graph is the replica's graph engine (nil with the exec engine).
func (s *Service) Graph() *graph.Engine { return s.graph }

// HTTPAddr is the metrics/probe server's address ("" without --http).
func (s *Service) HTTPAddr() string { return s.obs.HTTPAddr() }

// Done is closed when the orchestrator loop ends by itself (--once
// drained) or the NATS connection closed for good (Stop then returns
// ErrConnectionClosed).
func (s *Service) Done() <-chan struct{} { return s.done }

// Stop stops the orchestrator gracefully (it reports failed events of a
// --once run as ErrEventsFailed), drains the connection and shuts the
// embedded server down.
func (s *Service) Stop(ctx context.Context) error {
	s.obs.Drain() // first: /readyz answers 503 while stopping
	s.endWatch()
	err := s.orch.Stop(ctx)
	if lost := s.lost.Load(); lost != nil {
		err = errors.Join(*lost, err)
	}
	s.stopConsole(ctx) // its event streams end first: the HTTP shutdown waits for them
	if oerr := s.obs.Stop(ctx); oerr != nil {
		s.log.Warn("observability stop", slog.Any("error", oerr))
	}
	s.stopReaper()
	s.teardown()
	return err
}

func (s *Service) teardown() {
	s.stopLease()
	if s.graph != nil {
		s.graph.Close()
	}
	if s.nc != nil {
		if err := drain(s.nc, DrainTimeout); err != nil {
			s.log.Warn("nats drain", slog.Any("error", err))
		}
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
}

// DrainTimeout bounds the drain of the NATS connection when a Service
// stops (or fails to start), after which it is closed.
const DrainTimeout = 5 * time.Second

// drain drains nc and waits until it is closed or timeout passes.
func drain(nc *nats.Conn, timeout time.Duration) error {
	if nc.IsClosed() {
		return nil
	}
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return fmt.Errorf("drain: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-closed:
		return nil
	case <-t.C:
		nc.Close()
		return errors.New("drain: timed out")
	}
}
