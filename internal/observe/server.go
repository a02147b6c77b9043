package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"
)

// CheckTimeoutDefault bounds each readiness check.
const CheckTimeoutDefault = 2 * time.Second

// Check is one readiness condition: Fn returns nil when it holds. Fn must
// honour ctx.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// ServerConfig configures NewServer. Only Addr is required.
type ServerConfig struct {
	// Addr is the listen address, e.g. "127.0.0.1:8080" (":0" picks a port).
	Addr string
	// Metrics serves /metrics (nil: 404).
	Metrics http.Handler
	// Live are the liveness checks: /healthz runs them in order and
	// stops at the first failure (503); /readyz runs them too, first.
	Live []Check
	// Checks are run in order by /readyz, which stops at the first failure.
	Checks []Check
	// CheckTimeout bounds each check (CheckTimeoutDefault).
	CheckTimeout time.Duration
	// Pprof serves net/http/pprof under /debug/pprof/ (off).
	Pprof bool
	// Console, when set, serves every path the routes above do not (the
	// live console at /).
	Console http.Handler
	// Logger receives serve errors (slog.Default()).
	Logger *slog.Logger
}

// Server is the metrics and probe HTTP server: /metrics, /healthz (200
// while every liveness check passes), /readyz (200 when every liveness and
// readiness check passes and the server is not draining), both answering
// 503 with a JSON Readiness naming the failing check otherwise, and, with
// Pprof, /debug/pprof/.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	draining atomic.Bool
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}
}

// NewServer returns a server that is not listening yet.
func NewServer(cfg ServerConfig) *Server {
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = CheckTimeoutDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With(slog.String("component", "http"))}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	return s
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if s.cfg.Console != nil {
		mux.Handle("/", s.cfg.Console)
	}
	return mux
}

// Start listens on Addr and serves in the background until Shutdown. A
// listen error is returned.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.cfg.Addr, err)
	}
	s.ln, s.done = ln, make(chan struct{})
	go s.serve()
	s.log.Info("http server listening", slog.String("addr", ln.Addr().String()), slog.Bool("pprof", s.cfg.Pprof))
	return nil
}

func (s *Server) serve() {
	defer close(s.done)
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("http server failed", slog.Any("error", err))
	}
}

// Addr is the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Drain makes /readyz answer 503 from now on (the replica is stopping).
func (s *Server) Drain() { s.draining.Store(true) }

// Shutdown stops accepting connections and waits for active requests
// until ctx is done, then closes the rest. Safe to call twice, and before
// Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	if s.done == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("http shutdown: %w", err), s.srv.Close())
	}
	<-s.done
	return err
}
