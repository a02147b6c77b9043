package deadline_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/deadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type key struct{}

func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed within 5s")
	}
}

func TestLiveContextAnswersWithoutATimer(t *testing.T) {
	parent := context.WithValue(context.Background(), key{}, "v")
	ctx, cancel := deadline.WithTimeout(parent, time.Hour)
	defer cancel()
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err = %v, want nil", err)
	}
	if at, ok := ctx.Deadline(); !ok || time.Until(at) < 59*time.Minute {
		t.Fatalf("Deadline = %v, %v", at, ok)
	}
	if ctx.Value(key{}) != "v" {
		t.Fatal("Value not passed through")
	}
}

func TestParentDeadlineWins(t *testing.T) {
	parent, pcancel := context.WithTimeout(context.Background(), time.Minute)
	defer pcancel()
	ctx, cancel := deadline.WithTimeout(parent, time.Hour)
	defer cancel()
	want, _ := parent.Deadline()
	if at, _ := ctx.Deadline(); !at.Equal(want) {
		t.Fatalf("Deadline = %v, want the parent's %v", at, want)
	}
}

func TestExpiresWithoutDone(t *testing.T) {
	ctx, cancel := deadline.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
	waitDone(t, ctx)
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after Done = %v, want DeadlineExceeded", err)
	}
}

func TestDoneClosesAtTheDeadline(t *testing.T) {
	ctx, cancel := deadline.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	waitDone(t, ctx)
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", err)
	}
}

func TestCancelBeforeAndAfterDone(t *testing.T) {
	for _, realiseFirst := range []bool{false, true} {
		ctx, cancel := deadline.WithTimeout(context.Background(), time.Hour)
		if realiseFirst {
			_ = ctx.Done()
		}
		cancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("realised %v: Err = %v, want Canceled", realiseFirst, err)
		}
		waitDone(t, ctx)
	}
}

func TestParentCancelReachesIt(t *testing.T) {
	parent, pcancel := context.WithCancel(context.Background())
	ctx, cancel := deadline.WithTimeout(parent, time.Hour)
	defer cancel()
	done := ctx.Done()
	pcancel()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v, want Canceled", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the parent's cancel")
	}
}

// Contexts derived from it register with its real context: no goroutine
// watches it per child (what the standard library does for a parent it
// does not recognise).
func TestDerivedContextsNeedNoGoroutine(t *testing.T) {
	ctx, cancel := deadline.WithTimeout(context.Background(), time.Hour)
	before := runtime.NumGoroutine()
	children := make([]context.Context, 50)
	for i := range children {
		var stop context.CancelFunc
		children[i], stop = context.WithCancel(ctx)
		defer stop()
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d -> %d deriving 50 children", before, after)
	}
	cancel()
	for _, c := range children {
		waitDone(t, c)
	}
}

func TestConcurrentCancelAndDone(t *testing.T) {
	for range 200 {
		ctx, cancel := deadline.WithTimeout(context.Background(), time.Hour)
		var wg sync.WaitGroup
		wg.Go(func() { cancel() })
		wg.Go(func() { _ = ctx.Done() })
		wg.Go(func() { _ = ctx.Err() })
		wg.Wait()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("Err = %v after cancel", ctx.Err())
		}
		waitDone(t, ctx)
	}
}

// BenchmarkWithTimeout is the hot path's use: create, check Err, cancel,
// under a cancellable parent, against context.WithTimeout.
func BenchmarkWithTimeout(b *testing.B) {
	parent, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	for _, c := range []struct {
		name string
		with func(context.Context, time.Duration) (context.Context, context.CancelFunc)
	}{{"lazy", deadline.WithTimeout}, {"context", context.WithTimeout}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctx, cancel := c.with(parent, 30*time.Second)
					_ = ctx.Err()
					cancel()
				}
			})
		})
	}
}

func TestValueOfItsOwnBeforeAndAfterDone(t *testing.T) {
	type other struct{}
	parent := context.WithValue(context.Background(), other{}, "parent's")
	ctx, cancel := deadline.WithDeadlineValue(parent, time.Now().Add(time.Hour),
		&deadline.KeyValue{Key: key{}, Val: "own"})
	defer cancel()
	for _, when := range []string{"before Done", "after Done"} {
		if got := ctx.Value(key{}); got != "own" {
			t.Fatalf("%s: Value(key) = %v, want own", when, got)
		}
		if got := ctx.Value(other{}); got != "parent's" {
			t.Fatalf("%s: Value(other) = %v, want the parent's", when, got)
		}
		_ = ctx.Done() // realises it
	}
	child, ccancel := context.WithCancel(ctx)
	defer ccancel()
	if got := child.Value(key{}); got != "own" {
		t.Fatalf("a derived context's Value(key) = %v, want own", got)
	}
}

// A chain of values is answered value by value; a key the chain lacks
// goes to the parent.
func TestValueOfAChain(t *testing.T) {
	type second struct{}
	type third struct{}
	parent := context.WithValue(context.Background(), third{}, "parent's")
	ctx, cancel := deadline.WithDeadlineValue(parent, time.Now().Add(time.Hour),
		&deadline.KeyValue{Key: key{}, Val: "first", Next: &deadline.KeyValue{Key: second{}, Val: "second"}})
	defer cancel()
	for k, want := range map[any]string{key{}: "first", second{}: "second", third{}: "parent's"} {
		if got := ctx.Value(k); got != want {
			t.Fatalf("Value(%T) = %v, want %s", k, got, want)
		}
	}
}
