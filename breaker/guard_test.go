package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestTripsAtFailureRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ratio    float64
		outcomes string
		want     string
	}{
		{"failures below min requests", 0.5, "fff", breaker.StateClosed},
		{"ratio reached at min requests", 0.5, "ssff", breaker.StateOpen},
		{"ratio not reached", 0.5, "sssf", breaker.StateClosed},
		{"below min requests despite ratio", 0.5, "ssf", breaker.StateClosed},
		{"ratio reached later", 0.3, "ssssff", breaker.StateOpen},
		{"all must fail at ratio 1", 1, "sfff", breaker.StateClosed},
		{"ratio 1 reached", 1, "ffff", breaker.StateOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.FailureRatio = tc.ratio
			b := setup(t, cfg)
			run(t, b.guard, tc.outcomes)
			mustEqual(t, "State", b.guard.State(), tc.want)
		})
	}
}

func TestTripReportsCounts(t *testing.T) {
	t.Parallel()
	b := setup(t, fastConfig())
	run(t, b.guard, "ssf")
	c := b.guard.Counts()
	mustEqual(t, "Counts", c, breaker.Counts{Requests: 3, TotalSuccesses: 2, TotalFailures: 1, ConsecutiveFailures: 1})
	run(t, b.guard, "f")

	changes := b.changes.all()
	if len(changes) != 1 {
		t.Fatalf("changes = %+v, want one", changes)
	}
	sc := changes[0]
	mustEqual(t, "Component", sc.Component, "engine")
	mustEqual(t, "From", sc.From, breaker.StateClosed)
	mustEqual(t, "To", sc.To, breaker.StateOpen)
	mustEqual(t, "Counts", sc.Counts, breaker.Counts{Requests: 4, TotalSuccesses: 2, TotalFailures: 2, ConsecutiveFailures: 2})
	if sc.At.IsZero() || time.Since(sc.At) > time.Minute {
		t.Fatalf("At = %v, want now", sc.At)
	}
}

func TestOpenRejectsWithoutCalling(t *testing.T) {
	t.Parallel()
	b := tripped(t, time.Hour, 1)
	called := false
	v, err := breaker.Call(context.Background(), b.guard, func(context.Context) (int, error) {
		called = true
		return 42, nil
	})
	mustEqual(t, "fn called", called, false)
	mustEqual(t, "value", v, 0)
	if !errors.Is(err, breaker.ErrOpen) || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("err = %v, want ErrOpen wrapping gobreaker.ErrOpenState", err)
	}
	var open *breaker.OpenError
	if !errors.As(err, &open) {
		t.Fatalf("err = %T, want *OpenError", err)
	}
	mustEqual(t, "Component", open.Component, "engine")
	if open.RetryAfter <= 0 || open.RetryAfter > time.Hour {
		t.Fatalf("RetryAfter = %s, want in (0, 1h]", open.RetryAfter)
	}
	if wire.IsPermanent(err) {
		t.Fatalf("IsPermanent(%v) = true", err)
	}
}

func TestHalfOpenClosesAfterProbesSucceed(t *testing.T) {
	t.Parallel()
	const probes = 3
	b := tripped(t, 20*time.Millisecond, probes)
	testkit.WaitFor(t, waitLimit, "half-open", func() bool { return b.guard.State() == breaker.StateHalfOpen })

	entered, release := make(chan struct{}), make(chan struct{})
	errs := make(chan error, probes)
	var wg sync.WaitGroup
	for range probes {
		wg.Go(func() {
			errs <- b.guard.Do(context.Background(), func(context.Context) error {
				entered <- struct{}{}
				<-release
				return nil
			})
		})
	}
	for range probes {
		<-entered
	}
	assertProbesBusy(t, b.guard, 20*time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		mustEqual(t, "probe error", err, nil)
	}

	mustEqual(t, "State", b.guard.State(), breaker.StateClosed)
	mustEqualSlice(t, "transitions", b.changes.transitions(), []string{"closed>open", "open>half-open", "half-open>closed"})
	last := b.changes.all()[2]
	mustEqual(t, "closing Counts", last.Counts, breaker.Counts{Requests: 3, TotalSuccesses: 3, ConsecutiveSuccesses: 3})
}

// assertProbesBusy checks that a half-open Guard whose probes are all in
// flight rejects one more call, asking to wait the whole open timeout.
func assertProbesBusy(t *testing.T, g *breaker.Guard, openTimeout time.Duration) {
	t.Helper()
	called := false
	err := g.Do(context.Background(), func(context.Context) error { called = true; return nil })
	mustEqual(t, "fn called", called, false)
	var open *breaker.OpenError
	if !errors.As(err, &open) || !errors.Is(err, gobreaker.ErrTooManyRequests) {
		t.Fatalf("err = %v, want *OpenError wrapping ErrTooManyRequests", err)
	}
	mustEqual(t, "RetryAfter", open.RetryAfter, openTimeout)
}

func TestHalfOpenReopensOnProbeFailure(t *testing.T) {
	t.Parallel()
	b := tripped(t, 20*time.Millisecond, 3)
	testkit.WaitFor(t, waitLimit, "half-open", func() bool { return b.guard.State() == breaker.StateHalfOpen })
	run(t, b.guard, "sf")

	got := b.changes.transitions()
	mustEqualSlice(t, "transitions", got[:3], []string{"closed>open", "open>half-open", "half-open>open"})
	reopen := b.changes.all()[2]
	mustEqual(t, "reopening Counts", reopen.Counts,
		breaker.Counts{Requests: 2, TotalSuccesses: 1, TotalFailures: 1, ConsecutiveFailures: 1})
}

func TestPermanentNotRetriedNorCounted(t *testing.T) {
	t.Parallel()
	errInvalid := errors.New("invalid event")
	for _, tc := range []struct {
		name string
		ret  error
		opts []breaker.Option
	}{
		{"Permanent", fmt.Errorf("render: %w", wire.Permanent(errInvalid)), nil},
		{"WithPermanent classifier", fmt.Errorf("decode: %w", errInvalid),
			[]breaker.Option{breaker.WithPermanent(func(err error) bool { return errors.Is(err, errInvalid) })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.MinRequests, cfg.FailureRatio, cfg.Retries = 1, 1, 3
			b := setup(t, cfg, tc.opts...)
			calls := 0
			err := b.guard.Do(context.Background(), func(context.Context) error { calls++; return tc.ret })

			mustEqual(t, "calls", calls, 1)
			if !wire.IsPermanent(err) || !errors.Is(err, errInvalid) {
				t.Fatalf("err = %v, want permanent wrapping errInvalid", err)
			}
			mustEqual(t, "State", b.guard.State(), breaker.StateClosed)
			mustEqual(t, "Counts", b.guard.Counts(), breaker.Counts{Requests: 1, TotalExclusions: 1})
		})
	}
}

func TestTransientRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		retries   int
		failFirst int // attempts that fail before one succeeds
		wantCalls int
		wantErr   bool
	}{
		{"retried up to Retries then returned", 2, 100, 3, true},
		{"succeeds on a retry", 2, 2, 3, false},
		{"retries disabled", breaker.RetriesDisabled, 100, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.MinRequests, cfg.Retries = 100, tc.retries
			b := setup(t, cfg)
			calls := 0
			err := b.guard.Do(context.Background(), func(context.Context) error {
				calls++
				if calls <= tc.failFirst {
					return errTransient
				}
				return nil
			})
			mustEqual(t, "calls", calls, tc.wantCalls)
			mustEqual(t, "err != nil", err != nil, tc.wantErr)
			if tc.wantErr && (!errors.Is(err, errTransient) || wire.IsPermanent(err) || errors.Is(err, breaker.ErrOpen)) {
				t.Fatalf("err = %v, want the transient error", err)
			}
		})
	}
}

func TestRetryMaxElapsedStopsRetries(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.Retries = 100, 10
	cfg.RetryInitial, cfg.RetryMax, cfg.RetryMaxElapsed = 100*time.Millisecond, time.Second, 10*time.Millisecond
	b := setup(t, cfg)
	calls := 0
	err := b.guard.Do(context.Background(), func(context.Context) error { calls++; return errTransient })
	mustEqual(t, "calls", calls, 1)
	if !errors.Is(err, errTransient) {
		t.Fatalf("err = %v, want errTransient", err)
	}
}

func TestFailureThatTripsStopsRetries(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio, cfg.Retries = 1, 1, 5
	cfg.RetryInitial, cfg.RetryMax, cfg.RetryMaxElapsed = time.Hour, time.Hour, 10*time.Hour
	b := setup(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := 0
	err := b.guard.Do(ctx, func(context.Context) error { calls++; return errTransient })
	mustEqual(t, "calls", calls, 1)
	if !errors.Is(err, errTransient) || ctx.Err() != nil {
		t.Fatalf("err = %v (ctx %v), want errTransient at once", err, ctx.Err())
	}
	mustEqual(t, "State", b.guard.State(), breaker.StateOpen)
}

func TestCallTimeoutCountsAsFailure(t *testing.T) {
	t.Parallel()
	errAborted := errors.New("rpc aborted")
	for _, tc := range []struct {
		name        string
		callTimeout time.Duration
		ctxTimeout  time.Duration
	}{
		{"per-call timeout", 10 * time.Millisecond, time.Minute},
		{"caller's deadline", time.Minute, 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.MinRequests, cfg.FailureRatio, cfg.CallTimeout = 1, 1, tc.callTimeout
			b := setup(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxTimeout)
			defer cancel()
			err := b.guard.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return errAborted })

			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errAborted) {
				t.Fatalf("err = %v, want DeadlineExceeded and fn's error", err)
			}
			mustEqual(t, "message", err.Error(), "breaker engine: call timed out: rpc aborted")
			mustEqual(t, "State", b.guard.State(), breaker.StateOpen)
			mustEqual(t, "trip failures", b.changes.all()[0].Counts.TotalFailures, uint32(1))
		})
	}
}

func TestCallTimeoutRetried(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.Retries, cfg.CallTimeout = 100, 1, 5*time.Millisecond
	b := setup(t, cfg)
	var deadlines []time.Time
	err := b.guard.Do(context.Background(), func(ctx context.Context) error {
		d, _ := ctx.Deadline()
		deadlines = append(deadlines, d)
		if len(deadlines) == 1 {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	mustEqual(t, "err", err, nil)
	mustEqual(t, "attempts", len(deadlines), 2)
	if !deadlines[1].After(deadlines[0]) {
		t.Fatalf("deadlines = %v, want a fresh one per attempt", deadlines)
	}
	mustEqual(t, "failures", b.guard.Counts().TotalFailures, uint32(1))
}

func TestCancelStopsRetriesPromptly(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.Retries = 100, 100
	cfg.RetryInitial, cfg.RetryMax, cfg.RetryMaxElapsed = time.Hour, time.Hour, 10*time.Hour
	b := setup(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var calls atomic.Int32
	called := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- b.guard.Do(ctx, func(context.Context) error {
			calls.Add(1)
			called <- struct{}{}
			return errTransient
		})
	}()
	<-called
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
			t.Fatalf("err = %v, want Canceled and the last error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do kept waiting after ctx was cancelled")
	}
	mustEqual(t, "calls", calls.Load(), int32(1))
}

func TestCancelDuringCallNotCounted(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio, cfg.Retries = 1, 1, 3
	b := setup(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := b.guard.Do(ctx, func(ctx context.Context) error {
		calls++
		cancel()
		<-ctx.Done()
		return errors.New("aborted")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mustEqual(t, "calls", calls, 1)
	mustEqual(t, "State", b.guard.State(), breaker.StateClosed)
	mustEqual(t, "Counts", b.guard.Counts(), breaker.Counts{Requests: 1, TotalExclusions: 1})
}

func TestCancelledBeforeDo(t *testing.T) {
	t.Parallel()
	b := setup(t, fastConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := b.guard.Do(ctx, func(context.Context) error { called = true; return nil })
	mustEqual(t, "fn called", called, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mustEqual(t, "Counts", b.guard.Counts(), breaker.Counts{})
}

func TestStateChangeHookAndLog(t *testing.T) {
	t.Parallel()
	var logs testkit.Buffer
	var inHook []string
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio, cfg.OpenTimeout, cfg.HalfOpenProbes = 1, 1, 20*time.Millisecond, 1
	var g *breaker.Guard
	b := setup(t, cfg,
		breaker.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		breaker.WithStateChange(func(sc breaker.StateChange) {
			// Calling back into the Guard from a hook must not deadlock.
			inHook = append(inHook, g.State())
			_ = g.Counts()
		}))
	g = b.guard

	run(t, g, "f")
	testkit.WaitFor(t, waitLimit, "half-open", func() bool { return g.State() == breaker.StateHalfOpen })
	run(t, g, "s")

	mustEqualSlice(t, "transitions", b.changes.transitions(), []string{"closed>open", "open>half-open", "half-open>closed"})
	mustEqual(t, "hook calls", len(inHook), 3)
	mustEqual(t, "State seen in last hook", inHook[2], breaker.StateClosed)
	for _, sc := range b.changes.all() {
		mustEqual(t, "Component", sc.Component, "engine")
	}
	out := logs.String()
	for _, want := range []string{
		`level=WARN msg="breaker state changed" component=engine from=closed to=open requests=1 failures=1`,
		`level=INFO msg="breaker state changed" component=engine from=open to=half-open`,
		`level=INFO msg="breaker state changed" component=engine from=half-open to=closed requests=1 failures=0`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestPanicCountsAndPropagates(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio, cfg.Retries = 1, 1, 3
	b := setup(t, cfg)
	calls := 0
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want boom", r)
			}
		}()
		_ = b.guard.Do(context.Background(), func(context.Context) error { calls++; panic("boom") })
	}()
	mustEqual(t, "calls", calls, 1)
	mustEqual(t, "State", b.guard.State(), breaker.StateOpen)
	mustEqualSlice(t, "transitions", b.changes.transitions(), []string{"closed>open"})
}

func TestCall(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.Retries = 100, 1
	b := setup(t, cfg)
	calls := 0
	v, err := breaker.Call(context.Background(), b.guard, func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "partial", errTransient
		}
		return "artifact", nil
	})
	mustEqual(t, "err", err, nil)
	mustEqual(t, "value", v, "artifact")

	v, err = breaker.Call(context.Background(), b.guard, func(context.Context) (string, error) {
		return "partial", wire.Permanent(errTransient)
	})
	mustEqual(t, "value on error", v, "")
	mustEqual(t, "IsPermanent", wire.IsPermanent(err), true)
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	b := setup(t, breaker.Config{})
	mustEqual(t, "Component", b.guard.Component(), "engine")
	mustEqual(t, "Config", b.guard.Config(), breaker.Config{}.WithDefaults())
	mustEqual(t, "State", b.guard.State(), breaker.StateClosed)
	mustEqual(t, "Counts", b.guard.Counts(), breaker.Counts{})
}

func TestConcurrentDo(t *testing.T) {
	t.Parallel()
	const goroutines, callsEach = 50, 20
	cfg := breaker.Config{
		MinRequests: 10, FailureRatio: 0.5, OpenTimeout: 5 * time.Millisecond, HalfOpenProbes: 3,
		Retries: 1, RetryInitial: time.Millisecond, RetryMax: time.Millisecond, CallTimeout: time.Second,
	}
	b := setup(t, cfg)
	var n, unexpected atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range callsEach {
				err := b.guard.Do(context.Background(), func(context.Context) error {
					if n.Add(1)%3 == 0 {
						return nil
					}
					return errTransient
				})
				if err != nil && !errors.Is(err, errTransient) && !errors.Is(err, breaker.ErrOpen) {
					unexpected.Add(1)
				}
			}
		})
	}
	wg.Wait()
	mustEqual(t, "unexpected errors", unexpected.Load(), int64(0))
	assertChained(t, b.changes.all())
}

// assertChained checks state changes arrive in order: each starts where the
// previous one ended, and the first leaves closed.
func assertChained(t *testing.T, changes []breaker.StateChange) {
	t.Helper()
	if len(changes) == 0 {
		t.Fatal("no state change under a 2/3 failure rate")
	}
	prev := breaker.StateClosed
	for i, sc := range changes {
		if sc.From != prev || sc.From == sc.To {
			t.Fatalf("change %d = %s>%s after %s", i, sc.From, sc.To, prev)
		}
		prev = sc.To
	}
}

// A deferral (something the call needs is busy) is neither retried here
// nor counted against the circuit: contention must never open it.
func TestDeferralNotRetriedNorCounted(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.MinRequests, cfg.FailureRatio, cfg.Retries = 1, 0.1, 3
	b := setup(t, cfg)
	busy := fmt.Errorf("path busy: %w", wire.ErrDeferred)
	for range 5 {
		calls := 0
		err := b.guard.Do(context.Background(), func(context.Context) error { calls++; return busy })
		mustEqual(t, "calls", calls, 1)
		if !errors.Is(err, wire.ErrDeferred) || wire.IsPermanent(err) {
			t.Fatalf("err = %v, want the deferral back, not permanent", err)
		}
	}
	mustEqual(t, "State", b.guard.State(), breaker.StateClosed)
	mustEqual(t, "Counts", b.guard.Counts(), breaker.Counts{Requests: 5, TotalExclusions: 5})
}
