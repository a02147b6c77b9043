package benchkit

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestExperiment(t *testing.T) {
	if os.Getenv("BENCH_EXP") == "" {
		t.Skip()
	}
	z := FullSizes()
	z.Rounds = 2
	rep, err := Run(context.Background(), Config{Sizes: z, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(rep, "", " ")
	t.Log(string(b))
}

func TestExpNoop(t *testing.T) {
	if os.Getenv("BENCH_NOOP") == "" {
		t.Skip()
	}
	ctx := context.Background()
	e, err := newEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	z := FullSizes()
	s := &suite{cfg: Config{Sizes: z, Progress: os.Stderr}.withDefaults(), env: e, rep: &Report{}}
	switch os.Getenv("BENCH_NOOP") {
	case "base":
		for range 3 {
			r, err := e.runBaseline(ctx, 50000, 256)
			t.Log(r, err)
		}
	case "regen":
		for range 3 {
			r, err := e.runRegen(ctx, s.cfg.Logger, regenSpec{events: 50000, concurrency: 64, batch: 256})
			t.Log(r.eventsPerS, err, len(r.cycles), cpu())
		}
	case "async":
		for range 3 {
			r, err := e.runRegen(ctx, s.cfg.Logger, regenSpec{events: 50000, concurrency: 64, batch: 256, asyncAck: true})
			t.Log(r.eventsPerS, err, len(r.cycles))
		}
	case "eff":
		s.cfg.Sizes.Concurrencies = []int{64, 256}
		t.Log(s.efficiency(ctx))
	}
}

func cpu() string {
	b, _ := os.ReadFile("/proc/self/stat")
	f := strings.Fields(string(b))
	return f[13] + " " + f[14]
}

func TestExpProfile(t *testing.T) {
	mode := os.Getenv("BENCH_PROF")
	if mode == "" {
		t.Skip()
	}
	ctx := context.Background()
	e, err := newEnv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	spec := regenSpec{events: 50000, concurrency: 64, batch: 256}
	if mode == "io256" {
		spec = regenSpec{events: 50000, concurrency: 256, batch: 512, work: 10 * time.Millisecond}
	}
	if err := e.prepare(ctx, spec.events, 4096); err != nil {
		t.Fatal(err)
	}
	if mode == "base" {
		nc, js, _ := e.connect(ctx, "b")
		cons, _ := js.Consumer(ctx, "REGEN_CHANGES", "regen-workers")
		c0 := cpu()
		st := time.Now()
		err := fetchAckLoop(ctx, cons, spec.events, 256)
		nc.Flush()
		t.Log(float64(spec.events)/time.Since(st).Seconds(), err, c0, cpu())
		nc.Close()
		return
	}
	f, _ := os.Create("/tmp/drain.cpu")
	pprof.StartCPUProfile(f)
	c0 := cpu()
	r, err := e.drainRegen(ctx, slog.New(slog.DiscardHandler), spec)
	pprof.StopCPUProfile()
	t.Log(r.eventsPerS, err, c0, cpu())
	mf, _ := os.Create("/tmp/drain.mem")
	pprof.Lookup("allocs").WriteTo(mf, 0)
}
