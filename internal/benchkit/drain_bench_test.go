package benchkit

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"runtime/pprof"
)

// drainProfile, when set, writes a CPU profile of the timed drains only
// (not the backlog fills): go test -run '^$' -bench Drain -drainprofile cpu.out
var drainProfile = flag.String("drainprofile", "", "write a CPU profile of the timed drains to this file")

// BenchmarkDrainNoop is the regen side of overhead_ratio: the orchestrator
// with the no-op engine and deployer draining b.N events (whole batches)
// with confirmed acks.
func BenchmarkDrainNoop(b *testing.B) {
	benchDrain(b, func(ctx context.Context, e *env, n int) (float64, error) {
		if err := e.prepare(ctx, n, 2*(64+256)); err != nil {
			return 0, err
		}
		stop := startDrainProfile(b)
		defer stop()
		r, err := e.drainRegen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)),
			regenSpec{events: n, concurrency: 64, batch: 256, fetchWait: time.Second})
		return r.eventsPerS, err
	})
}

// BenchmarkDrainLoop is the baseline side of overhead_ratio: the plain
// Fetch+Ack loop draining b.N events.
func BenchmarkDrainLoop(b *testing.B) {
	benchDrain(b, func(ctx context.Context, e *env, n int) (float64, error) {
		stop := func() {}
		defer func() { stop() }()
		return e.runBaselineHook(ctx, n, 256, func() { stop = startDrainProfile(b) })
	})
}

func benchDrain(b *testing.B, drain func(ctx context.Context, e *env, n int) (float64, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := newEnv(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer e.close()
	n := wholeBatches(max(b.N, 256), 256)
	b.ResetTimer()
	perS, err := drain(ctx, e, n)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(perS, "events/s")
}

func startDrainProfile(b *testing.B) func() {
	if *drainProfile == "" {
		return func() {}
	}
	f, err := os.Create(*drainProfile)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
