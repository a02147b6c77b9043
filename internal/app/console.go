package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/regen-dev/regen/internal/console"
)

// startConsole builds and starts the live console served at / by --http
// (nil without --http), generating a token for a non-loopback address
// without one.
func (s *Service) startConsole(ctx context.Context) (http.Handler, error) {
	if s.cfg.HTTP == "" {
		return nil, nil
	}
	token, generated, err := console.ResolveToken(s.cfg.HTTP, s.cfg.ConsoleToken)
	if err != nil {
		return nil, err
	}
	c, err := console.New(console.Config{Conn: s.nc, JetStream: s.js, Consumer: s.cfg.Consumer.Name, Token: token,
		Replica: s.cfg.Orchestrator.Replica, TraceURL: s.cfg.ConsoleTraceURL, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if generated {
		s.consoleFragment = "#token=" + token
	}
	c.Start(ctx)
	s.console = c
	return c, nil
}

// stopConsole ends the console's loops and open event streams (before the
// HTTP server shuts down, which waits for them). Nil-safe.
func (s *Service) stopConsole(ctx context.Context) {
	if s.console == nil {
		return
	}
	if err := s.console.Stop(ctx); err != nil {
		s.log.Warn("console stop", slog.Any("error", err))
	}
}

// logConsole logs the console's URL once the HTTP server listens. A
// generated token is printed once on stderr with the URL, never logged.
func (s *Service) logConsole(addr string) {
	if s.console == nil || addr == "" {
		return
	}
	s.log.Info("console", slog.String("url", ConsoleURL(addr)), slog.Bool("token", s.consoleFragment != "" || s.cfg.ConsoleToken != ""))
	if s.consoleFragment != "" {
		fmt.Fprintf(os.Stderr, "regen console (token generated; set --console-token to choose one): %s%s\n",
			ConsoleURL(addr), s.consoleFragment)
	}
}

// ConsoleURL is the URL of the console served on addr; an unspecified
// host (every interface) is shown as localhost.
func ConsoleURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
