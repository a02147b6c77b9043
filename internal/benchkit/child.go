package benchkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/regen-dev/regen/bus"
)

// ChildEnv is the environment variable that makes a process the RSS
// child: its value is the JSON childSpec. A binary that can be the child
// checks IsChild first thing and then calls RunChild.
const ChildEnv = "REGEN_BENCH_CHILD"

// childSpec tells the child what to drain.
type childSpec struct {
	URL         string `json:"url"`
	Events      int    `json:"events"`
	Concurrency int    `json:"concurrency"`
	Batch       int    `json:"batch"`
	FetchWait   string `json:"fetch_wait"`
}

// childResult is what the child prints on stdout.
type childResult struct {
	Processed        int64   `json:"processed"`
	Seconds          float64 `json:"seconds"`
	HWMKB            int64   `json:"vmhwm_kb"`
	GoroutinesBefore int     `json:"goroutines_before"`
	GoroutinesAfter  int     `json:"goroutines_after"`
}

// IsChild reports whether this process was started as the RSS child.
func IsChild() bool { return os.Getenv(ChildEnv) != "" }

// RunChild is the child's whole life: connect to the parent's server,
// drain the backlog with the orchestrator (no-op engine, not autonomous:
// it stops once nothing is pending), and print one JSON childResult with
// its goroutine counts before Start (orchestrator built) and after Stop and
// its peak RSS.
func RunChild(ctx context.Context, stdout io.Writer) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(ChildEnv)), &spec); err != nil {
		return fmt.Errorf("bench child: %s: %w", ChildEnv, err)
	}
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{URLs: spec.URL, Name: "regen-bench-child"})
	if err != nil {
		return fmt.Errorf("bench child: %w", err)
	}
	defer nc.Close()
	// One request first: the connection's request multiplexer (a
	// subscription with its own goroutine for the connection's lifetime)
	// is then part of the baseline.
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("bench child: %w", err)
	}
	wait, err := time.ParseDuration(spec.FetchWait)
	if err != nil {
		return fmt.Errorf("bench child: fetch wait: %w", err)
	}
	cfg := orchConfig(spec.Concurrency, spec.Batch, wait)
	cfg.Autonomous = false
	obs := newCountObserver(spec.Events)
	o, err := newOrchestrator(ctx, nc, js, slog.New(slog.DiscardHandler), cfg, waitEngine{}, obs, false)
	if err != nil {
		return err
	}
	// The baseline includes what the worker holds for its whole life (the
	// source's ack-confirmation subscription), not what a run starts.
	res := childResult{GoroutinesBefore: runtime.NumGoroutine()}
	start := time.Now()
	if err := o.Start(ctx); err != nil {
		return fmt.Errorf("bench child: %w", err)
	}
	<-o.Done()
	res.Seconds = time.Since(start).Seconds()
	if err := o.Stop(ctx); err != nil {
		return fmt.Errorf("bench child: %w", err)
	}
	res.Processed = obs.n.Load()
	res.GoroutinesAfter = settleGoroutines(res.GoroutinesBefore)
	if res.GoroutinesAfter > res.GoroutinesBefore {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1) // what was left behind
	}
	if res.HWMKB, err = procStatusKB("self", "VmHWM"); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// settleGoroutines waits up to 2s for the goroutine count to fall back to
// baseline (exiting goroutines need a moment) and returns the count.
func settleGoroutines(baseline int) int {
	deadline := time.Now().Add(2 * time.Second)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		<-t.C
	}
	return runtime.NumGoroutine()
}

// errNoProc is returned where /proc/<pid>/status cannot be read.
var errNoProc = errors.New("no /proc/<pid>/status on this system")
