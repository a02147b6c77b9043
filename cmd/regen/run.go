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
// backlog is drained). A second signal forces exit.
func runCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, err := loadConfig("run", args, stderr)
	if err != nil {
		return err
	}
	log := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	svc, err := app.Start(startCtx, cfg, log)
	cancel()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	select {
	case sig := <-sigs:
		log.Info("signal received: stopping", slog.String("signal", sig.String()))
		go forceOnSecondSignal(sigs, log)
	case <-svc.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Orchestrator.ShutdownGrace+10*time.Second)
	defer cancel()
	return svc.Stop(stopCtx)
}

func forceOnSecondSignal(sigs <-chan os.Signal, log *slog.Logger) {
	sig := <-sigs
	log.Error("second signal: exiting now", slog.String("signal", sig.String()))
	os.Exit(130)
}
