package orchestrator

import (
	"context"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// newPoolRun builds an orchestrator with eng and n valid messages; run
// then runs one cycle's pool over them, outside the loop.
func newPoolRun(t *testing.T, eng Engine, limit, n int) ([]wire.Message, func() *cyclePool) {
	t.Helper()
	o, msgs := cycleOrchestrator(t, eng, limit, n)
	ctx := context.Background()
	return msgs, func() *cyclePool {
		return o.processAll(&run{fetchCtx: ctx, workCtx: ctx}, "exec-pool", msgs, limit, nil)
	}
}

func checkAllAcked(t *testing.T, p *cyclePool, msgs []wire.Message) {
	t.Helper()
	for i, m := range msgs {
		if acked := m.(*fakeMsg).acked; acked != 1 || !p.done[i].Load() {
			t.Fatalf("message %d: acked %d times, done %v", i, acked, p.done[i].Load())
		}
	}
}

// Events that never block need no more workers than there are
// processors to run them: the pool does not start one per slot.
func TestCyclePoolStaysSmallWhenEventsNeverBlock(t *testing.T) {
	t.Parallel()
	const limit = 256
	msgs, run := newPoolRun(t, benchEngine{}, limit, 2048)
	p := run()
	checkAllAcked(t, p, msgs)
	if n := p.spawned.Load(); n > limit/4 {
		t.Fatalf("%d workers started for events that never block, want at most %d", n, limit/4)
	}
}

// Events that block bring the pool to its bound: every slot is used.
func TestCyclePoolGrowsToTheLimitWhenEventsBlock(t *testing.T) {
	t.Parallel()
	const limit = 16
	eng := &fakeEngine{artifacts: 1, block: make(chan struct{})}
	msgs, run := newPoolRun(t, eng, limit, 4*limit)
	finished := make(chan *cyclePool)
	go func() { finished <- run() }()
	testkit.WaitFor(t, waitLimit, "every slot busy", func() bool { return eng.inFlight.Load() == limit })
	close(eng.block)
	p := <-finished
	checkAllAcked(t, p, msgs)
	if n, peak := p.spawned.Load(), p.peak.Load(); n != limit || peak != limit {
		t.Fatalf("workers %d, peak in flight %d, want %d and %d", n, peak, limit, limit)
	}
}
