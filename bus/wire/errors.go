package wire

import (
	"errors"
	"fmt"
	"time"
)

// ErrPermanent matches, with errors.Is, every error that no retry can fix:
// invalid input, and failures caused by the data (an unsafe output path, a
// template that fails on a node, a node too large to store). The
// orchestrator dead-letters such an event on its first delivery, and a
// breaker.Guard neither retries it nor counts it against its circuit.
// Engines and deployers mark their failures with Permanent or
// PermanentReason.
var ErrPermanent = errors.New("permanent")

// ErrDeferred matches, with errors.Is, a failure that is not the event's
// and not the environment's: something the event needs is busy (another
// replica holds the claim on the artifact's path). The orchestrator gives
// the event back for a short while without spending its delivery budget,
// and a breaker.Guard neither retries it nor counts it against its circuit.
var ErrDeferred = errors.New("deferred")

// PermanentError is a failure that no retry can fix, with the dead-letter
// reason it is reported under.
type PermanentError struct {
	// Reason is a short stable token (see the Reason constants).
	Reason string
	// Err is the failure.
	Err error
}

// Error is Err's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap makes errors.Is match both ErrPermanent and Err.
func (e *PermanentError) Unwrap() []error { return []error{ErrPermanent, e.Err} }

// Permanent marks err as permanent with ReasonPermanent. Permanent(nil) is
// nil; an error that is already permanent is returned as it is.
func Permanent(err error) error { return PermanentReason(ReasonPermanent, err) }

// PermanentReason marks err as permanent with reason. PermanentReason(r,
// nil) is nil; an error that is already permanent keeps its reason.
func PermanentReason(reason string, err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return &PermanentError{Reason: reason, Err: err}
}

// IsPermanent reports whether err matches ErrPermanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// ReasonOf is the dead-letter reason of a permanent err: that of its
// InvalidEventError or PermanentError, ReasonUnsafePath for a CleanPath
// refusal, ReasonPermanent for any other.
func ReasonOf(err error) string {
	var inv *InvalidEventError
	if errors.As(err, &inv) {
		return inv.Reason
	}
	var pe *PermanentError
	if errors.As(err, &pe) && pe.Reason != "" && pe.Reason != ReasonPermanent {
		return pe.Reason
	}
	if errors.Is(err, ErrUnsafePath) {
		return ReasonUnsafePath
	}
	return ReasonPermanent
}

// RateLimitedError is an event given back because a rate limit had no
// token for it within the time the event could wait. It matches
// ErrDeferred: the orchestrator naks the event with RetryAfter, without
// spending its delivery budget, and a breaker.Guard does not count it.
type RateLimitedError struct {
	// Limit is the limit's key (engine, deployer, target:TARGET, source:NAME).
	Limit string
	// RetryAfter is how long until the limit's token is due.
	RetryAfter time.Duration
}

// Error names the limit and the delay.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limit %s: next token in %s", e.Limit, e.RetryAfter)
}

// Is makes errors.Is match ErrDeferred.
func (e *RateLimitedError) Is(target error) bool { return target == ErrDeferred }
