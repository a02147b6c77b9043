package breaker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrOpen matches (with errors.Is) every error returned when the circuit
// rejects a call; errors.As with *OpenError gives how long to wait.
var ErrOpen = errors.New("circuit open")

// OpenError is returned when the circuit rejects a call: it is open, or it
// is half-open and its probes are all in flight. It matches ErrOpen and the
// gobreaker error behind it (gobreaker.ErrOpenState or
// gobreaker.ErrTooManyRequests). Redeliver the work after RetryAfter
// (NakWithDelay); it is not a failure of the work itself.
type OpenError struct {
	// Component is the Guard's component ("engine", "deployer", ...).
	Component string
	// RetryAfter is the time until the open timeout ends, or the whole
	// OpenTimeout when that is unknown (half-open, or just elapsed).
	RetryAfter time.Duration

	cause error // gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests
	last  error // the attempt's failure that tripped the circuit, if any
}

// Error describes the rejection.
func (e *OpenError) Error() string {
	msg := fmt.Sprintf("breaker %s: %v: %v, retry after %s", e.Component, ErrOpen, e.cause, e.RetryAfter)
	if e.last != nil {
		msg += fmt.Sprintf(" (tripped by: %v)", e.last)
	}
	return msg
}

// Is makes errors.Is(err, ErrOpen) true.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// Unwrap returns the gobreaker error behind the rejection.
func (e *OpenError) Unwrap() error { return e.cause }

// excludedError carries, through gobreaker, a failure that must count
// neither as a success nor as a failure of the circuit: a permanent error or
// the caller's own cancellation.
type excludedError struct{ err error }

func (e *excludedError) Error() string { return e.err.Error() }

// timeoutError is an attempt that failed after its deadline passed
// (Config.CallTimeout or the caller's own deadline).
type timeoutError struct {
	component string
	err       error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("breaker %s: call timed out: %v", e.component, e.err)
}

// Unwrap exposes both fn's error and context.DeadlineExceeded.
func (e *timeoutError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }
