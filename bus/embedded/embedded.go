// Package embedded runs a nats-server with JetStream inside the regen
// process, for `regen run` without --nats-url, for tests and benchmarks.
// It is the only regen package that starts one: internal/app,
// internal/testkit and internal/benchkit start theirs through it, and the
// orchestrator, bus and the workers never link nats-server.
//
//	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: dir})
//	if err != nil {
//		return err
//	}
//	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
//	url := srv.ClientURL()
package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config configures the in-process nats-server `regen run` starts
// when no --nats-url is given.
type Config struct {
	// Listen is host:port for clients; port -1 picks a free port.
	// Default ListenDefault.
	Listen string
	// StoreDir is where JetStream keeps its file store. Required.
	StoreDir string
	// SyncAlways fsyncs every write before acking (slow, most durable).
	// The default is JetStream's own (fsync every 2 minutes).
	SyncAlways bool
	// ServerName names the server (defaults to "regen-embedded").
	ServerName string
	// ReadyTimeout bounds the wait for the server to accept clients (10s).
	ReadyTimeout time.Duration
}

// ListenDefault is the embedded server's default client address.
const ListenDefault = "127.0.0.1:4222"

// Start starts a nats-server with JetStream (file storage) in this
// process and waits until it accepts connections. Shut it down with
// s.Shutdown(); s.WaitForShutdown().
func Start(cfg Config) (*server.Server, error) {
	opts, err := options(cfg)
	if err != nil {
		return nil, err
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go s.Start()
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats-server on %s: not ready after %s", cfg.Listen, wait)
	}
	return s, nil
}

func options(cfg Config) (*server.Options, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded nats-server: store dir is empty")
	}
	listen := cfg.Listen
	if listen == "" {
		listen = ListenDefault
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: listen port %q: %w", portStr, err)
	}
	name := cfg.ServerName
	if name == "" {
		name = "regen-embedded"
	}
	return &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: cfg.SyncAlways,
		NoLog:      true,
		NoSigs:     true,
		// Leave room for batch fetches of large events.
		MaxPayload: 8 << 20,
	}, nil
}
