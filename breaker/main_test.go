package breaker_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/breaker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var errTransient = errors.New("engine busy")

// quietLogger discards the state-change logs of tests that do not check them.
var quietLogger = slog.New(slog.DiscardHandler)

// fastConfig trips after 4 completed calls at a 50% failure ratio, never
// retries, and stays open for an hour unless a test says otherwise.
func fastConfig() breaker.Config {
	return breaker.Config{
		MinRequests:  4,
		FailureRatio: 0.5,
		OpenTimeout:  time.Hour,
		Retries:      breaker.RetriesDisabled,
		RetryInitial: time.Millisecond,
		RetryMax:     2 * time.Millisecond,
	}
}

// testBundle is a Guard with its state changes recorded.
type testBundle struct {
	guard   *breaker.Guard
	changes *recorder
}

func setup(t *testing.T, cfg breaker.Config, opts ...breaker.Option) *testBundle {
	t.Helper()
	rec := &recorder{}
	opts = append([]breaker.Option{breaker.WithLogger(quietLogger), breaker.WithStateChange(rec.hook)}, opts...)
	g, err := breaker.New("engine", cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testBundle{guard: g, changes: rec}
}

// recorder collects StateChanges; safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	changes []breaker.StateChange
}

func (r *recorder) hook(sc breaker.StateChange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, sc)
}

func (r *recorder) all() []breaker.StateChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]breaker.StateChange(nil), r.changes...)
}

// transitions renders the recorded changes as "from>to" strings.
func (r *recorder) transitions() []string {
	var out []string
	for _, sc := range r.all() {
		out = append(out, sc.From+">"+sc.To)
	}
	return out
}

// waitLimit bounds every testkit.WaitFor of the package's tests.
const waitLimit = 5 * time.Second

// run calls Do with outcomes: 's' succeeds, 'f' fails transiently.
func run(t *testing.T, g *breaker.Guard, outcomes string) {
	t.Helper()
	for _, o := range outcomes {
		err := g.Do(context.Background(), func(context.Context) error {
			if o == 'f' {
				return errTransient
			}
			return nil
		})
		if (o == 'f') != (err != nil) {
			t.Fatalf("outcome %q: Do returned %v", o, err)
		}
	}
}

// tripped returns a Guard tripped open by one failure.
func tripped(t *testing.T, openTimeout time.Duration, probes int) *testBundle {
	t.Helper()
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio = 1, 1
	cfg.OpenTimeout, cfg.HalfOpenProbes = openTimeout, probes
	b := setup(t, cfg)
	run(t, b.guard, "f")
	// The hook, not State: a short open timeout may already have ended.
	mustEqualSlice(t, "transitions after trip", b.changes.transitions(), []string{"closed>open"})
	return b
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func mustEqualSlice(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s = %q, want %q", what, got, want)
		}
	}
}
