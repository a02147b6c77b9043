package orchestrator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

// benchArtifacts is shared read-only: the bench engine allocates nothing.
var benchArtifacts = []wire.Artifact{{Path: "bench/a.txt", Hash: "0"}}

type benchEngine struct{}

func (benchEngine) Regenerate(context.Context, wire.Change) ([]wire.Artifact, error) {
	return benchArtifacts, nil
}

type benchDeployer struct{}

func (benchDeployer) Deploy(context.Context, wire.Artifact) (bool, error) { return false, nil }

// BenchmarkCycle measures one cycle (decode, engine, deployer, ack, stats,
// telemetry) over a batch of fake messages with a no-op engine: the
// orchestrator's own cost per event, without NATS.
func BenchmarkCycle(b *testing.B) {
	for _, c := range []struct{ batch, concurrency int }{{16, 2}, {256, 64}, {1000, 64}} {
		b.Run(fmt.Sprintf("batch=%d/concurrency=%d", c.batch, c.concurrency), func(b *testing.B) {
			benchmarkCycle(b, c.batch, c.concurrency)
		})
	}
}

func benchmarkCycle(b *testing.B, batch, concurrency int) {
	o, msgs := cycleOrchestrator(b, benchEngine{}, concurrency, batch)
	ctx := context.Background()
	r := &run{fetchCtx: ctx, workCtx: ctx}
	b.ReportAllocs()
	for b.Loop() {
		if pe := o.executeCycle(r, msgs, nil); pe.Skipped != batch {
			b.Fatalf("cycle = %+v, want %d skipped", pe, batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}

// cycleOrchestrator builds an orchestrator over fakes with eng and the
// no-op deployer, and batch valid messages for executeCycle or
// processAll to run outside the loop.
func cycleOrchestrator(tb testing.TB, eng Engine, concurrency, batch int) (*Orchestrator, []wire.Message) {
	tb.Helper()
	o, err := New(cfgWith(func(c *Config) { c.MaxConcurrent, c.BatchSize = concurrency, batch }),
		Deps{Source: &fakeSource{}, Engine: eng, Deployer: benchDeployer{},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	msgs := make([]wire.Message, batch)
	for i := range msgs {
		msgs[i] = validMsg(i)
	}
	return o, msgs
}
