package graph

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/regen-dev/regen/bus/wire"
)

// MaxAbandonedDefault is how many abandoned renders may still be running
// before the engine reports itself stuck (Stuck).
const MaxAbandonedDefault = 8

// ErrStuck says too many abandoned renders are still running: the
// templates loop without end on some data, and only a restart of the
// process frees the goroutines they hold.
var ErrStuck = errors.New("graph engine stuck")

// Render states of one bounded call.
const (
	renderRunning int32 = iota
	renderFinished
	renderAbandoned
)

type rendered[T any] struct {
	out T
	err error
}

// bounded runs render, a template execution, so that ctx's end abandons
// it: text/template cannot be interrupted, and a template that loops
// without writing never meets ctx. An abandoned render goes on in its
// goroutine, counted in e.abandoned until it ends. A render that outlives
// its deadline is the template's fault on this data: permanent, with
// reason render_timeout. Without a deadline render runs inline.
func bounded[T any](e *Engine, ctx context.Context, what string, render func() (T, error)) (T, error) {
	if _, ok := ctx.Deadline(); !ok && ctx.Done() == nil {
		return render()
	}
	var state atomic.Int32
	var zero T
	done := make(chan rendered[T], 1)
	go func() {
		out, err := render()
		done <- rendered[T]{out, err}
		if !state.CompareAndSwap(renderRunning, renderFinished) {
			e.abandoned.Add(-1)
		}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
	}
	if !state.CompareAndSwap(renderRunning, renderAbandoned) {
		r := <-done // it finished as ctx ended
		return r.out, r.err
	}
	e.abandoned.Add(1)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return zero, wire.PermanentReason(wire.ReasonRenderTimeout,
			fmt.Errorf("%s: abandoned, still running at its deadline: %w", what, ctx.Err()))
	}
	return zero, fmt.Errorf("%s: abandoned: %w", what, ctx.Err())
}

// Abandoned is how many abandoned renders are still running.
func (e *Engine) Abandoned() int64 { return e.abandoned.Load() }

// Stuck reports ErrStuck once Config.MaxAbandoned abandoned renders are
// still running (a liveness check: /healthz fails, and the supervisor
// restarts the replica).
func (e *Engine) Stuck() error {
	if n := e.abandoned.Load(); n >= int64(e.maxAbandoned()) {
		return fmt.Errorf("%w: %d abandoned renders still running (limit %d)", ErrStuck, n, e.maxAbandoned())
	}
	return nil
}

func (e *Engine) maxAbandoned() int {
	if e.cfg.MaxAbandoned > 0 {
		return e.cfg.MaxAbandoned
	}
	return MaxAbandonedDefault
}
