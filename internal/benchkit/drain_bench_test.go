package benchkit

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"runtime/pprof"
)

// drainProfile, when set, writes a CPU profile of the timed drains only
// (not the backlog fills): go test -run '^$' -bench Drain -drainprofile cpu.out
var (
	drainProfile     = flag.String("drainprofile", "", "write a CPU profile of the timed drains to this file")
	drainConcurrency = flag.Int("drainconcurrency", 64, "regen's concurrency in BenchmarkDrainNoop")
	drainAsyncAck    = flag.Bool("drainasyncack", false, "BenchmarkDrainNoop acks without confirmation")
)

// BenchmarkDrainNoop is the regen side of overhead_ratio: the orchestrator
// with the no-op engine and deployer draining b.N events (whole batches)
// with confirmed acks.
func BenchmarkDrainNoop(b *testing.B) {
	benchDrain(b, func(ctx context.Context, e *env, n int) (float64, error) {
		if err := e.prepare(ctx, n, 2*(*drainConcurrency+256)); err != nil {
			return 0, err
		}
		stop := func() {}
		defer func() { stop() }()
		r, err := e.drainRegen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)),
			regenSpec{events: n, concurrency: *drainConcurrency, batch: 256, fetchWait: time.Second,
				asyncAck: *drainAsyncAck, started: func() { stop = startDrainProfile(b) }, drained: func() { stop() }})
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
	b.ReportMetric(float64(drainCPU.Microseconds())/float64(n), "cpu-us/event")
	b.ReportMetric(float64(drainAlloc)/float64(n), "alloc-B/event")
	b.ReportMetric(float64(drainGCs)/float64(n)*1000, "gcs/1k-events")
}

// drainCPU is the process CPU time (user + system) of the last timed
// drain: steadier than throughput on a shared machine. drainAlloc and
// drainGCs are the bytes allocated (by server, client and consumer: one
// process) and the garbage collections during it.
var (
	drainCPU   time.Duration
	drainAlloc uint64
	drainGCs   uint32
)

// memCounters reads the allocation and GC counters.
func memCounters() (alloc uint64, gcs uint32) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc, ms.NumGC
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startDrainProfile starts measuring the drain: CPU time always, a CPU
// profile with -drainprofile. The returned func ends both (once).
func startDrainProfile(b *testing.B) func() {
	cpu0 := processCPU()
	alloc0, gcs0 := memCounters()
	var once sync.Once
	measured := func() {
		drainCPU = processCPU() - cpu0
		alloc, gcs := memCounters()
		drainAlloc, drainGCs = alloc-alloc0, gcs-gcs0
	}
	if *drainProfile == "" {
		return func() { once.Do(measured) }
	}
	f, err := os.Create(*drainProfile)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		once.Do(func() {
			measured()
			pprof.StopCPUProfile()
			_ = f.Close()
		})
	}
}
