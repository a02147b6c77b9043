package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/console"
	"github.com/regen-dev/regen/internal/logging"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/tracing"
)

// consoleHTTPDefault is where `regen console` listens unless --http says.
const consoleHTTPDefault = "127.0.0.1:8090"

// consoleStopTimeout bounds the stop of the console and its server.
const consoleStopTimeout = 5 * time.Second

// consoleOptions are the flags of regen console.
type consoleOptions struct {
	conn     *connFlags
	http     string
	consumer string
	token    string
	traceURL string
	logLevel string
}

// consoleCmd serves the live console of the deployment at --nats-url on
// --http, reading everything from NATS, until SIGINT/SIGTERM.
func consoleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseConsole(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, js, err := o.conn.connect(ctx, "regen console")
	if err != nil {
		return err
	}
	defer nc.Close()
	token, generated, err := console.ResolveToken(o.http, o.token)
	if err != nil {
		return err
	}
	log := logging.New(stderr, o.logLevel, "auto")
	c, err := console.New(console.Config{Conn: nc, JetStream: js, Consumer: o.consumer, Token: token,
		Replica: "console@" + hostname(), TraceURL: o.traceURL, Logger: log})
	if err != nil {
		return err
	}
	fragment := ""
	if generated {
		fragment = "#token=" + token // printed once, with the URL, and nowhere else
	}
	return serveConsole(ctx, c, observe.ServerConfig{Addr: o.http, Console: c, Logger: log}, stdout, fragment)
}

func parseConsole(args []string, stderr io.Writer) (consoleOptions, error) {
	fs := flag.NewFlagSet("regen console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := consoleOptions{conn: addConnFlags(fs)}
	fs.StringVar(&o.http, "http", consoleHTTPDefault, "address to serve the console on (only this one)")
	fs.StringVar(&o.consumer, "consumer", envOr("REGEN_CONSUMER_NAME", wire.ConsumerDefault), "the base consumer name (consumer.name)")
	fs.StringVar(&o.token, "console-token", os.Getenv("REGEN_CONSOLE_TOKEN"),
		"token mutating requests need (env REGEN_CONSOLE_TOKEN; empty: none on loopback, generated otherwise)")
	fs.StringVar(&o.traceURL, "console-trace-url", os.Getenv("REGEN_CONSOLE_TRACE_URL"),
		"URL of a trace in the tracing UI, with {trace_id} (env REGEN_CONSOLE_TRACE_URL); event stories link to it")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 || o.http == "" {
		return o, fmt.Errorf("%w: console takes flags only, and --http must not be empty", errConfig)
	}
	if err := tracing.CheckTraceURL(o.traceURL); err != nil {
		return o, fmt.Errorf("%w: --console-trace-url: %w", errConfig, err)
	}
	return o, nil
}

// serveConsole serves c with cfg until ctx is done, prints its URL (with
// fragment) on stdout, then stops the console (its event streams end) and
// the server.
func serveConsole(ctx context.Context, c *console.Console, cfg observe.ServerConfig, stdout io.Writer, fragment string) error {
	srv := observe.NewServer(cfg)
	if err := srv.Start(); err != nil {
		return err
	}
	c.Start(ctx)
	if _, err := fmt.Fprintf(stdout, "console: %s%s\n", app.ConsoleURL(srv.Addr()), fragment); err != nil {
		return errors.Join(err, srv.Shutdown(context.Background()), c.Stop(context.Background()))
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), consoleStopTimeout)
	defer cancel()
	return errors.Join(c.Stop(sctx), srv.Shutdown(sctx))
}

// envOr is the environment variable k, or def when it is empty.
func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
