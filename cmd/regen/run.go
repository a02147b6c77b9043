package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/logging"
	"github.com/regen-dev/regen/internal/tracing"
	"github.com/regen-dev/regen/orchestrator"
)

// errConfig marks invalid configuration (exit code 2).
var errConfig = errors.New("invalid configuration")

func exitCode(err error) int {
	switch {
	case errors.Is(err, errConfig):
		return 2
	case errors.Is(err, orchestrator.ErrEventsFailed):
		return 3
	default:
		return 1
	}
}

// loadConfig parses the shared configuration flags of run and config.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet("regen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	l := config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("%w: unexpected argument %q", errConfig, fs.Arg(0))
	}
	cfg, err := l.Load(os.Getenv)
	if err != nil {
		return cfg, fmt.Errorf("%w:\n%w", errConfig, err)
	}
	return cfg, nil
}

func configCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("config", args, stderr)
	if err != nil {
		return err
	}
	out, err := config.YAML(cfg)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// runCmd runs a replica until SIGINT/SIGTERM (or, with --once, until the
// backlog is drained). A signal later than signal_debounce after the first
// forces exit (130); one within it is the same request, and ignored.
func runCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, err := loadConfig("run", args, stderr)
	if err != nil {
		return err
	}
	log := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	shutdownTracing, err := setupTracing(ctx, cfg.Orchestrator.Replica, stderr)
	if err != nil {
		return err
	}
	defer shutdownTracing()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	svc, err := app.Start(startCtx, cfg, log)
	cancel()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	select {
	case sig := <-sigs:
		log.Info("signal received: stopping gracefully", slog.String("signal", sig.String()),
			slog.Duration("debounce", cfg.SignalDebounce))
		stopped := make(chan struct{})
		defer close(stopped)
		go forceOnLaterSignal(sigs, stopped, time.Now(), cfg.SignalDebounce, log, os.Exit)
	case <-svc.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Orchestrator.ShutdownGrace+stopOverrun)
	defer cancel()
	return svc.Stop(stopCtx)
}

// startTimeout bounds the start of a replica: connecting, provisioning,
// wiring. The HTTP server (probes) starts at its end.
const startTimeout = time.Minute

// stopOverrun is how long the graceful stop may take past shutdown_grace:
// the cancelled events are nak'ed, the final telemetry flushed, the HTTP
// server stopped. The NATS drain (app.DrainTimeout) and the span flush
// (tracingShutdownTimeout) follow it.
const stopOverrun = 10 * time.Second

// tracingShutdownTimeout bounds the flush of the spans still batched at exit.
const tracingShutdownTimeout = 5 * time.Second

// setupTracing installs the OTLP exporter the OTEL_* environment asks for
// (none when no endpoint is set). An invalid variable is a configuration
// error naming it. The returned func flushes and stops the exporter within
// tracingShutdownTimeout; its failure is reported on stderr and does not
// change the exit code, as spans are best effort.
func setupTracing(ctx context.Context, instance string, stderr io.Writer) (func(), error) {
	var opts []tracing.Option
	if instance != "" {
		opts = append(opts, tracing.WithInstanceID(instance))
	}
	shutdown, err := tracing.Setup(ctx, "regen", version, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingShutdownTimeout)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			fmt.Fprintf(stderr, "regen: %v\n", err)
		}
	}, nil
}

// forceOnLaterSignal runs while a graceful stop does, until stopped is
// closed. A signal from sigs less than debounce after the first one
// (received at first) is the same request sent twice, as a supervisor that
// signals both the process and its group does: it is logged and ignored.
// The first signal after that calls exit(130). It logs when the debounce
// has passed, so an operator (and a test) knows a second signal now works.
func forceOnLaterSignal(sigs <-chan os.Signal, stopped <-chan struct{}, first time.Time, debounce time.Duration,
	log *slog.Logger, exit func(int)) {
	armed := time.NewTimer(debounce - time.Since(first))
	defer armed.Stop()
	for {
		select {
		case <-stopped:
			return
		case <-armed.C:
			log.Info("graceful stop under way: another signal now exits at once")
		case sig := <-sigs:
			if since := time.Since(first); since < debounce {
				log.Info("signal ignored: within the debounce of the first", slog.String("signal", sig.String()),
					slog.Duration("after", since), slog.Duration("debounce", debounce))
				continue
			}
			log.Error("second signal: exiting now", slog.String("signal", sig.String()))
			exit(130)
			return
		}
	}
}
