package orchestrator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// fakeAttempts is an AttemptLog in memory.
type fakeAttempts struct {
	mu   sync.Mutex
	recs map[uint64]wire.Attempts
}

func (a *fakeAttempts) update(seq uint64, fn func(*wire.Attempts)) (wire.Attempts, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recs == nil {
		a.recs = map[uint64]wire.Attempts{}
	}
	r := a.recs[seq]
	fn(&r)
	a.recs[seq] = r
	return r, nil
}

func (a *fakeAttempts) Deferred(_ context.Context, seq uint64) (wire.Attempts, error) {
	return a.update(seq, func(r *wire.Attempts) { r.Deferrals++ })
}

func (a *fakeAttempts) Failed(_ context.Context, seq uint64, cause error) (wire.Attempts, error) {
	return a.update(seq, func(r *wire.Attempts) { r.Failures++; r.LastError = cause.Error() })
}

func (a *fakeAttempts) Get(_ context.Context, seq uint64) (wire.Attempts, error) {
	return a.update(seq, func(*wire.Attempts) {})
}

// causeDLQ records each dead letter's reason and cause.
type causeDLQ struct {
	mu     sync.Mutex
	causes map[string]error
}

func (q *causeDLQ) DeadLetter(_ context.Context, _ wire.Message, reason string, cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.causes == nil {
		q.causes = map[string]error{}
	}
	q.causes[reason] = cause
	return nil
}

func (q *causeDLQ) get(reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.causes[reason]
}

type budgetBundle struct {
	src *fakeSource
	eng *fakeEngine
	dlq *causeDLQ
	log *fakeAttempts
	o   *Orchestrator
}

func setupBudget(t *testing.T, maxDeliver int) *budgetBundle {
	t.Helper()
	b := &budgetBundle{src: &fakeSource{}, eng: &fakeEngine{artifacts: 1}, dlq: &causeDLQ{}, log: &fakeAttempts{}}
	cfg := cfgWith(func(c *Config) { c.MaxDeliver = maxDeliver })
	o, err := New(cfg, Deps{Source: b.src, Engine: b.eng, Deployer: &fakeDeployer{}, DeadLetters: b.dlq,
		Attempts: b.log, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.o = o
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return b
}

func (b *budgetBundle) run(t *testing.T, m *fakeMsg) {
	t.Helper()
	b.src.push(m)
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the event", func() bool { return b.o.Stats().EventsProcessed == 1 })
}

func TestDeferralsLeaveTheBudgetWhole(t *testing.T) {
	t.Parallel()
	b := setupBudget(t, 3)
	m := validMsg(1)
	m.deliveries = 7 // six earlier deliveries, five of them deferrals
	_, _ = b.log.update(m.seq, func(r *wire.Attempts) { r.Deferrals = 5 })
	b.run(t, m)
	if acked, _, term := m.state(); acked != 1 || term != "" {
		t.Fatalf("acked %d, term %q: want the event processed", acked, term)
	}
}

func TestDeliveriesWithoutAnOutcomeSpendTheBudget(t *testing.T) {
	t.Parallel()
	b := setupBudget(t, 3)
	m := validMsg(1)
	m.deliveries = 4 // three earlier deliveries, none recorded: crashes
	b.run(t, m)
	if _, _, term := m.state(); term != wire.ReasonMaxDeliveries {
		t.Fatalf("term = %q, want %s", term, wire.ReasonMaxDeliveries)
	}
	if b.eng.calls.Load() != 0 {
		t.Fatal("the engine ran an event whose budget was spent")
	}
	if cause := b.dlq.get(wire.ReasonMaxDeliveries); !errors.Is(cause, errBudgetSpent) ||
		!strings.Contains(cause.Error(), "crashed") {
		t.Fatalf("cause = %v", cause)
	}
}

func TestTheLastFailureIsTheDeadLettersCause(t *testing.T) {
	t.Parallel()
	b := setupBudget(t, 3)
	b.eng.fail = func(wire.Change) error { return errTransient }
	m := validMsg(1)
	m.deliveries = 3
	_, _ = b.log.update(m.seq, func(r *wire.Attempts) { r.Failures = 2 })
	b.run(t, m)
	if cause := b.dlq.get(wire.ReasonMaxDeliveries); !errors.Is(cause, errTransient) {
		t.Fatalf("cause = %v, want the engine's failure", cause)
	}
	if rec, _ := b.log.Get(context.Background(), m.seq); rec.Failures != 3 || rec.LastError != errTransient.Error() {
		t.Fatalf("attempts = %+v", rec)
	}
}
