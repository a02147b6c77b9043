package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sony/gobreaker/v2"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/deadline"
)

// In-process retry shape: delays double, each randomised by ±50%.
const (
	retryMultiplier = 2
	retryJitter     = 0.5
)

// Guard protects calls to one component ("engine", "deployer",
// "deploy:dir", ...) with a circuit breaker, a per-call timeout and
// in-process retries of transient failures. A Guard is safe for concurrent
// use; create one per component and share it.
type Guard struct {
	component string
	cfg       Config
	opts      options
	cb        *gobreaker.CircuitBreaker[struct{}]

	deliverMu sync.Mutex // held by the goroutine delivering state changes

	// halfOpen and hasPending mirror state and len(pending) for the
	// success path, which then takes no lock of the Guard's own.
	halfOpen, hasPending atomic.Bool

	mu       sync.Mutex // guards the fields below
	state    gobreaker.State
	openedAt time.Time
	tally    Counts // half-open outcomes so far, or the counts that tripped
	pending  []StateChange
}

// New returns a Guard for component, with cfg's zero fields defaulted.
// It fails if component is empty or cfg is invalid (see Config.Validate).
func New(component string, cfg Config, opts ...Option) (*Guard, error) {
	if component == "" {
		return nil, errors.New("breaker: component must not be empty")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("breaker %s: invalid config: %w", component, err)
	}
	g := &Guard{component: component, cfg: cfg.WithDefaults(), opts: newOptions(opts)}
	g.cb = gobreaker.NewCircuitBreaker[struct{}](g.settings())
	return g, nil
}

func (g *Guard) settings() gobreaker.Settings {
	st := gobreaker.Settings{
		Name:          g.component,
		MaxRequests:   uint32(g.cfg.HalfOpenProbes),
		Interval:      g.cfg.Window,
		Timeout:       g.cfg.OpenTimeout,
		ReadyToTrip:   g.readyToTrip,
		OnStateChange: g.record,
		IsSuccessful:  g.isSuccessful,
		IsExcluded:    g.isExcluded,
	}
	if g.cfg.WindowBuckets > 1 {
		// Rolling window: outcomes age out one bucket at a time.
		st.BucketPeriod = g.cfg.Window / time.Duration(g.cfg.WindowBuckets)
	}
	return st
}

// Component returns the component the Guard protects.
func (g *Guard) Component() string { return g.component }

// Config returns the Guard's effective configuration (defaults applied).
func (g *Guard) Config() Config { return g.cfg }

// State returns the circuit's state: StateClosed, StateOpen or
// StateHalfOpen. An open circuit whose timeout has passed reports (and
// becomes) half-open.
func (g *Guard) State() string {
	defer g.flush()
	return g.cb.State().String()
}

// Counts returns the circuit's counts in the current window (closed) or
// since the circuit half-opened; they reset on every state change.
func (g *Guard) Counts() Counts { return countsFrom(g.cb.Counts()) }

// Do calls fn through the circuit, each attempt with its own
// Config.CallTimeout deadline (fn must honour ctx). A transient failure is
// retried in-process with jittered exponential backoff, up to Config.Retries
// times and within Config.RetryMaxElapsed.
//
// Do stops at once and returns:
//   - nil when an attempt succeeds;
//   - a permanent error (wire.IsPermanent true) when fn returns one: see
//     wire.Permanent and WithPermanent; it does not count against the
//     circuit;
//   - a deferral (errors.Is wire.ErrDeferred: something fn needs is busy)
//     when fn returns one; it is not retried here and does not count
//     against the circuit;
//   - an *OpenError (errors.Is ErrOpen) when the circuit rejects an attempt,
//     fn not being called;
//   - fn's error when ctx ends (context.Canceled does not count against the
//     circuit; a deadline, the caller's or CallTimeout, does), or when its
//     failure tripped the circuit.
//
// Otherwise it returns the last attempt's error once retries run out.
func (g *Guard) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	// One clock read serves the context check, the first attempt's
	// deadline and the retries' elapsed-time bound.
	start := time.Now()
	if err := deadline.ErrAt(ctx, start); err != nil {
		return fmt.Errorf("breaker %s: %w", g.component, err)
	}
	// The first attempt runs before any backoff is built: the common case
	// (success) allocates no retry state.
	last := g.attempt(ctx, fn, nil, start)
	if last == nil {
		return nil
	}
	if g.isFinal(ctx, last) || g.cfg.Retries <= 0 {
		return g.result(ctx, last)
	}
	return g.retry(ctx, fn, last, start)
}

// retry runs the retries after a failed first attempt (first), with
// exponential backoff and jitter; the elapsed-time bound counts from start.
func (g *Guard) retry(ctx context.Context, fn func(context.Context) error, first error, start time.Time) error {
	last, replayed := first, false
	op := func() error {
		err := first
		if replayed { // backoff.Retry calls op at once: that call is the first attempt
			err = g.attempt(ctx, fn, last, time.Now())
		}
		replayed, last = true, err
		if err != nil && g.isFinal(ctx, err) {
			return backoff.Permanent(err)
		}
		return err
	}
	if backoff.Retry(op, g.newBackOff(ctx, time.Since(start))) == nil {
		return nil
	}
	return g.result(ctx, last)
}

// Call is Do for a function that returns a value: the value of the
// successful attempt, or T's zero value with the error.
func Call[T any](ctx context.Context, g *Guard, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := g.Do(ctx, func(ctx context.Context) error {
		v, err := fn(ctx)
		if err == nil {
			out = v
		}
		return err
	})
	return out, err
}

// attempt runs fn once through the circuit, starting now; prev is the
// previous attempt's error, reported in an OpenError if the circuit now
// rejects the call.
func (g *Guard) attempt(ctx context.Context, fn func(context.Context) error, prev error, now time.Time) error {
	defer g.flush()
	ran := false
	_, err := g.cb.Execute(func() (struct{}, error) {
		ran = true
		return struct{}{}, g.invoke(ctx, fn, now)
	})
	if !ran {
		return g.openError(err, prev)
	}
	if ex, ok := err.(*excludedError); ok {
		return ex.err
	}
	return err
}

// invoke calls fn with the per-call deadline (CallTimeout from now) and
// classifies its error for the circuit: excluded (permanent, caller
// cancelled), timeout or failure. When ctx already ends within
// CallTimeout, fn gets ctx itself: a derived context would change nothing.
func (g *Guard) invoke(ctx context.Context, fn func(context.Context) error, now time.Time) error {
	callCtx := ctx
	if at, ok := ctx.Deadline(); !ok || at.Sub(now) > g.cfg.CallTimeout {
		c, cancel := deadline.WithDeadline(ctx, now.Add(g.cfg.CallTimeout))
		defer cancel()
		callCtx = c
	}
	err := fn(callCtx)
	switch {
	case err == nil:
		return nil
	case g.isPermanent(err):
		return &excludedError{err: wire.Permanent(err)}
	case errors.Is(err, wire.ErrDeferred):
		return &excludedError{err: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &excludedError{err: withCause(err, ctx.Err())}
	case callCtx.Err() != nil:
		return &timeoutError{component: g.component, err: err}
	}
	return err
}

// withCause makes err match cause, keeping err's message first.
func withCause(err, cause error) error {
	if errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, cause)
}

func (g *Guard) isPermanent(err error) bool {
	if wire.IsPermanent(err) {
		return true
	}
	for _, isPermanent := range g.opts.permanent {
		if isPermanent(err) {
			return true
		}
	}
	return false
}

// isFinal reports whether Do must stop retrying after err.
func (g *Guard) isFinal(ctx context.Context, err error) bool {
	return wire.IsPermanent(err) || errors.Is(err, wire.ErrDeferred) || errors.Is(err, ErrOpen) ||
		ctx.Err() != nil || g.State() == StateOpen
}

// result is Do's error once retrying stopped on last: ctx's error is added
// when ctx ended during a backoff wait.
func (g *Guard) result(ctx context.Context, last error) error {
	ctxErr := ctx.Err()
	if ctxErr == nil || errors.Is(last, ctxErr) || wire.IsPermanent(last) || errors.Is(last, wire.ErrDeferred) ||
		errors.Is(last, ErrOpen) {
		return last
	}
	return fmt.Errorf("breaker %s: %w (last error: %w)", g.component, ctxErr, last)
}

// newBackOff is the retry schedule; spent is the time the first attempt
// already took of RetryMaxElapsed.
func (g *Guard) newBackOff(ctx context.Context, spent time.Duration) backoff.BackOff {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(g.cfg.RetryInitial),
		backoff.WithMaxInterval(g.cfg.RetryMax),
		backoff.WithMaxElapsedTime(max(g.cfg.RetryMaxElapsed-spent, time.Nanosecond)),
		backoff.WithMultiplier(retryMultiplier),
		backoff.WithRandomizationFactor(retryJitter),
	)
	retries := uint64(max(g.cfg.Retries, 0)) // RetriesDisabled: no retry
	return backoff.WithContext(backoff.WithMaxRetries(exp, retries), ctx)
}

// openError describes a rejection by the circuit (cause is gobreaker's).
func (g *Guard) openError(cause, prev error) *OpenError {
	g.mu.Lock()
	openedAt := g.openedAt
	g.mu.Unlock()
	wait := g.cfg.OpenTimeout
	if errors.Is(cause, gobreaker.ErrOpenState) && !openedAt.IsZero() {
		if left := time.Until(openedAt.Add(wait)); left > 0 {
			wait = left
		}
	}
	return &OpenError{Component: g.component, RetryAfter: wait, cause: cause, last: prev}
}
