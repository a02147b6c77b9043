package orchestrator

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// streamSource is an endless backlog: every fetch returns max fresh
// messages at once. Pending reports what the test sets, can grow on every
// call, and can fail or hang like an unreachable NATS.
type streamSource struct {
	next       atomic.Int64
	pending    atomic.Int64 // reported backlog
	growth     atomic.Int64 // added to pending on every Pending call
	calls      atomic.Int64 // Pending calls
	pendingErr atomic.Bool  // Pending fails
	hang       atomic.Bool  // Pending blocks until ctx ends
	empty      atomic.Bool  // Fetch returns nothing
}

func (s *streamSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]wire.Message, error) {
	if s.empty.Load() {
		t := time.NewTimer(min(wait, 5*time.Millisecond))
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return nil, nil
	}
	out := make([]wire.Message, max)
	for i := range out {
		out[i] = validMsg(int(s.next.Add(1)))
	}
	return out, nil
}

func (s *streamSource) Pending(ctx context.Context) (uint64, error) {
	s.calls.Add(1)
	if s.hang.Load() {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if s.pendingErr.Load() {
		return 0, errTransient
	}
	return uint64(s.pending.Add(s.growth.Load())), nil
}

// loadEngine's latency and error rate change while it runs.
type loadEngine struct {
	latency atomic.Int64 // nanoseconds per call
	failPct atomic.Int64 // share of calls that fail, in percent
	calls   atomic.Int64
}

func (e *loadEngine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	n := e.calls.Add(1)
	if d := time.Duration(e.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if n%100 < e.failPct.Load() {
		return nil, errTransient
	}
	return []wire.Artifact{{Path: ch.Event.ID, EventID: ch.Event.ID}}, nil
}

// nopDeployer deploys everything, remembering nothing.
type nopDeployer struct{}

func (nopDeployer) Deploy(context.Context, wire.Artifact) (bool, error) { return true, nil }

type loadBundle struct {
	src *streamSource
	eng *loadEngine
	tel *fakeTelemetry
	o   *Orchestrator
}

// loadSetup builds an orchestrator on a streamSource and a loadEngine.
func loadSetup(t *testing.T, cfg Config) *loadBundle {
	t.Helper()
	b := &loadBundle{src: &streamSource{}, eng: &loadEngine{}, tel: &fakeTelemetry{}}
	o, err := New(cfg, Deps{Source: b.src, Engine: b.eng, Deployer: nopDeployer{}, Telemetry: b.tel,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.o = o
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return b
}

// ofType returns the recorded events of one type.
func (t *fakeTelemetry) ofType(typ wire.TelemetryType) []wire.TelemetryEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []wire.TelemetryEvent
	for _, ev := range t.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// withRule returns the recorded events of one type whose rule is rule.
func (t *fakeTelemetry) withRule(typ wire.TelemetryType, rule string) []wire.TelemetryEvent {
	var out []wire.TelemetryEvent
	for _, ev := range t.ofType(typ) {
		if ruleOf(ev.Data) == rule {
			out = append(out, ev)
		}
	}
	return out
}
