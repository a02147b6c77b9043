package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
)

// A transient failure is retried in-process; a permanent one is returned at
// once, marked so the caller terminates the event instead of redelivering it.
func Example() {
	ctx := context.Background()
	g, err := breaker.New("engine", breaker.Config{RetryInitial: time.Millisecond, RetryMax: time.Millisecond},
		breaker.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}

	attempts := 0
	err = g.Do(ctx, func(ctx context.Context) error {
		attempts++
		if attempts == 1 {
			return errors.New("engine busy")
		}
		return nil
	})
	fmt.Println(err, attempts, g.State())

	err = g.Do(ctx, func(ctx context.Context) error { return wire.Permanent(errors.New("unknown change_type")) })
	fmt.Println(wire.IsPermanent(err), err)
	// Output:
	// <nil> 2 closed
	// true unknown change_type
}

// An open circuit rejects calls without running them and says how long to
// wait, for NakWithDelay.
func ExampleOpenError() {
	g, _ := breaker.New("deployer", breaker.Config{MinRequests: 1, Retries: breaker.RetriesDisabled},
		breaker.WithLogger(slog.New(slog.DiscardHandler)),
		breaker.WithStateChange(func(sc breaker.StateChange) {
			fmt.Printf("%s: %s -> %s after %d failures\n", sc.Component, sc.From, sc.To, sc.Counts.TotalFailures)
		}))
	ctx := context.Background()
	_ = g.Do(ctx, func(context.Context) error { return errors.New("disk full") })

	err := g.Do(ctx, func(context.Context) error { return nil })
	var open *breaker.OpenError
	if errors.As(err, &open) {
		fmt.Println(open.Component, "open, retry within", breaker.OpenTimeoutDefault, open.RetryAfter <= breaker.OpenTimeoutDefault)
	}
	// Output:
	// deployer: closed -> open after 1 failures
	// deployer open, retry within 10s true
}

// Backoff grows a redelivery delay with the delivery count, deterministically.
func ExampleBackoff() {
	var delays []time.Duration
	for attempt := 1; attempt <= 5; attempt++ {
		delays = append(delays, breaker.Backoff(attempt, time.Second, 5*time.Second))
	}
	fmt.Println(delays)
	// Output: [1s 2s 4s 5s 5s]
}
