package breaker

import "log/slog"

// Option configures a Guard in New.
type Option func(*options)

type options struct {
	permanent []func(error) bool
	hooks     []func(StateChange)
	logger    *slog.Logger
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}

// WithPermanent adds a classifier: an error fn returns for which isPermanent
// is true is treated like Permanent(err): not retried, not counted against
// the circuit, and returned marked so that IsPermanent reports true (the
// original error stays matchable with errors.Is). Several classifiers are
// OR-ed; nil is ignored.
func WithPermanent(isPermanent func(error) bool) Option {
	return func(o *options) {
		if isPermanent != nil {
			o.permanent = append(o.permanent, isPermanent)
		}
	}
}

// WithStateChange adds a hook called once per state change, in order. Hooks
// run synchronously on the goroutine of a Guard call that observed the
// change (never while the circuit's lock is held, so a hook may call the
// Guard's methods); keep them short. Several hooks run in the order given;
// nil is ignored.
func WithStateChange(hook func(StateChange)) Option {
	return func(o *options) {
		if hook != nil {
			o.hooks = append(o.hooks, hook)
		}
	}
}

// WithLogger sets the logger every state change is logged to (Warn when the
// circuit opens, Info otherwise). Default slog.Default(); nil is ignored.
func WithLogger(logger *slog.Logger) Option {
	return func(o *options) {
		if logger != nil {
			o.logger = logger
		}
	}
}
