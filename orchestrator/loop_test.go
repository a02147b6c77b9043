package orchestrator

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// beatMsg counts InProgress calls.
type beatMsg struct {
	*fakeMsg
	beats atomic.Int64
}

func (m *beatMsg) InProgress() error {
	m.beats.Add(1)
	return nil
}

// One worker, a batch of two, the first event blocked: the second one
// waits in the batch, and the cycle's heartbeat must keep it alive too.
func TestHeartbeatCoversMessagesWaitingInTheBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent, c.BatchSize, c.AckWait = 1, 2, 20*time.Millisecond }))
	b.eng.block = make(chan struct{})
	first, second := &beatMsg{fakeMsg: validMsg(0)}, &beatMsg{fakeMsg: validMsg(1)}
	b.src.push(first, second)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "heartbeats on the running and the waiting event", func() bool {
		return first.beats.Load() >= 2 && second.beats.Load() >= 2
	})
	close(b.eng.block)
	testkit.WaitFor(t, waitLimit, "both acked", func() bool {
		a1, _, _ := first.state()
		a2, _, _ := second.state()
		return a1 == 1 && a2 == 1
	})
}

// A batch fetched ahead while a cycle runs is released (nak'ed for
// immediate redelivery) when Stop comes before its cycle starts.
func TestStopReleasesThePrefetchedBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent, c.BatchSize, c.ShutdownGrace = 1, 1, time.Millisecond }))
	b.eng.block = make(chan struct{}) // never closed: the first event is cancelled at Stop
	first, second := validMsg(0), validMsg(1)
	b.src.push(first, second)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "the second event fetched ahead", func() bool { return b.src.fetches.Load() >= 2 && b.eng.calls.Load() == 1 })
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, m := range []*fakeMsg{first, second} {
		if acked, naks, termed := m.state(); acked != 0 || naks != 1 || termed != "" {
			t.Errorf("event %d: acked %d, naks %d, termed %q; want one nak", i, acked, naks, termed)
		}
	}
	if calls := b.eng.calls.Load(); calls != 1 {
		t.Errorf("engine calls = %d, want 1 (the prefetched event never started)", calls)
	}
}

// lateAckMsg confirms its ack only when release is closed, from another
// goroutine, with err.
type lateAckMsg struct {
	*fakeMsg
	release   chan struct{}
	err       error
	requested atomic.Bool // Ack was called
}

func (m *lateAckMsg) Ack(done func(error)) {
	m.requested.Store(true)
	go func() {
		<-m.release
		m.fakeMsg.Ack(func(error) {})
		done(m.err)
	}()
}

// A cycle ends only once every ack's confirmation has arrived, and an ack
// that fails (the event will be redelivered and skipped) does not make
// the event a failure.
func TestCycleWaitsForAckConfirmations(t *testing.T) {
	t.Parallel()
	b := setup(t, cfgWith(func(c *Config) { c.MaxConcurrent, c.BatchSize = 2, 2 }))
	release := make(chan struct{})
	ok := &lateAckMsg{fakeMsg: validMsg(0), release: release}
	lost := &lateAckMsg{fakeMsg: validMsg(1), release: release, err: errTransient}
	b.src.push(ok, lost)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "both acks sent", func() bool { return ok.requested.Load() && lost.requested.Load() })
	// Both events are processed: a cycle that did not wait for the
	// confirmations would end within microseconds.
	if ended := within(200*time.Millisecond, func() bool { return b.o.LastExecution() != nil }); ended {
		t.Fatalf("cycle ended before its acks were confirmed: %+v", b.o.LastExecution())
	}
	close(release)
	testkit.WaitFor(t, waitLimit, "the cycle to end", func() bool { return b.o.LastExecution() != nil })
	if s := b.o.Stats(); s.Failures != 0 || s.EventsProcessed != 2 {
		t.Fatalf("stats = %+v, want 2 processed, no failures", s)
	}
}

// within reports whether cond became true within d (polled every
// millisecond): for asserting that something does not happen.
func within(d time.Duration, cond func() bool) bool {
	deadline := time.After(d)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
	return true
}
