package breaker_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/breaker"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	const s, m = time.Second, time.Minute
	for _, tc := range []struct {
		attempt      int
		initial, max time.Duration
		want         time.Duration
	}{
		{1, s, m, s},
		{2, s, m, 2 * s},
		{3, s, m, 4 * s},
		{6, s, m, 32 * s},
		{7, s, m, m},
		{1000, s, m, m},
		{0, s, m, s},
		{-3, s, m, s},
		{1, 2 * m, m, m},
		{4, s, 0, 8 * s},
		{100, s, 0, math.MaxInt64},
		{64, 1, -1, math.MaxInt64},
		{3, 0, m, 0},
		{3, -s, m, 0},
		{3, 300 * time.Millisecond, s, s},
	} {
		got := breaker.Backoff(tc.attempt, tc.initial, tc.max)
		if got != tc.want {
			t.Errorf("Backoff(%d, %s, %s) = %s, want %s", tc.attempt, tc.initial, tc.max, got, tc.want)
		}
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	mustEqual(t, "Sleep(0)", breaker.Sleep(context.Background(), 0), error(nil))
	mustEqual(t, "Sleep(1ms)", breaker.Sleep(context.Background(), time.Millisecond), error(nil))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := breaker.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(cancelled, 1h) = %v, want Canceled", err)
	}
	if err := breaker.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(cancelled, 0) = %v, want Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- breaker.Sleep(ctx, time.Hour) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep = %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sleep ignored cancellation")
	}
}
