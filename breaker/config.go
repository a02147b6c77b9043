package breaker

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults for Config; a zero field takes its default in WithDefaults.
const (
	// WindowDefault is the rolling window over which outcomes are counted.
	WindowDefault = 30 * time.Second
	// WindowBucketsDefault is how many buckets the window rolls in.
	WindowBucketsDefault = 10
	// MinRequestsDefault is the fewest outcomes in the window before the
	// circuit may trip.
	MinRequestsDefault = 10
	// FailureRatioDefault is the failure ratio at which the circuit trips.
	FailureRatioDefault = 0.5
	// OpenTimeoutDefault is how long the circuit stays open.
	OpenTimeoutDefault = 10 * time.Second
	// HalfOpenProbesDefault is how many calls a half-open circuit lets
	// through; that many consecutive successes close it.
	HalfOpenProbesDefault = 3
	// RetriesDefault is how many in-process retries follow a transient failure.
	RetriesDefault = 2
	// RetryInitialDefault is the first in-process retry delay (before jitter).
	RetryInitialDefault = 50 * time.Millisecond
	// RetryMaxDefault caps one in-process retry delay (before jitter).
	RetryMaxDefault = time.Second
	// RetryMaxElapsedDefault bounds the time spent in one Do, retries included.
	RetryMaxElapsedDefault = 5 * time.Second
	// CallTimeoutDefault bounds each attempt of fn.
	CallTimeoutDefault = 30 * time.Second
)

// RetriesDisabled as Config.Retries makes Do call fn once: the caller
// retries by redelivery instead.
const RetriesDisabled = -1

// Config tunes a Guard. The zero value is valid: every zero field takes its
// ...Default. Durations and counts must not be negative (except Retries,
// see RetriesDisabled).
type Config struct {
	// Window is the rolling window over which outcomes are counted (30s).
	Window time.Duration `yaml:"window" json:"window"`
	// WindowBuckets is how many buckets the window rolls in: old outcomes
	// leave the window one bucket (Window/WindowBuckets) at a time (10).
	WindowBuckets int `yaml:"window_buckets" json:"window_buckets"`
	// MinRequests is the fewest completed calls in the window before the
	// circuit may trip (10).
	MinRequests int `yaml:"min_requests" json:"min_requests"`
	// FailureRatio trips the circuit when failures/completed calls in the
	// window reach it, in (0, 1] (0.5).
	FailureRatio float64 `yaml:"failure_ratio" json:"failure_ratio"`
	// OpenTimeout is how long the circuit stays open before it lets probes
	// through (10s).
	OpenTimeout time.Duration `yaml:"open_timeout" json:"open_timeout"`
	// HalfOpenProbes is how many calls a half-open circuit admits; that many
	// consecutive successes close it, one failure reopens it (3).
	HalfOpenProbes int `yaml:"half_open_probes" json:"half_open_probes"`
	// Retries is how many times Do retries fn in-process after a transient
	// failure (2); RetriesDisabled turns retries off.
	Retries int `yaml:"retries" json:"retries"`
	// RetryInitial is the first retry delay, grown exponentially with
	// jitter (50ms).
	RetryInitial time.Duration `yaml:"retry_initial" json:"retry_initial"`
	// RetryMax caps one retry delay (1s).
	RetryMax time.Duration `yaml:"retry_max" json:"retry_max"`
	// RetryMaxElapsed stops retrying once a Do has run this long (5s).
	RetryMaxElapsed time.Duration `yaml:"retry_max_elapsed" json:"retry_max_elapsed"`
	// CallTimeout bounds each attempt of fn; an attempt that runs out of it
	// counts as a circuit failure (30s).
	CallTimeout time.Duration `yaml:"call_timeout" json:"call_timeout"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Window = cmp.Or(c.Window, WindowDefault)
	c.WindowBuckets = cmp.Or(c.WindowBuckets, WindowBucketsDefault)
	c.MinRequests = cmp.Or(c.MinRequests, MinRequestsDefault)
	c.FailureRatio = cmp.Or(c.FailureRatio, FailureRatioDefault)
	c.OpenTimeout = cmp.Or(c.OpenTimeout, OpenTimeoutDefault)
	c.HalfOpenProbes = cmp.Or(c.HalfOpenProbes, HalfOpenProbesDefault)
	c.Retries = cmp.Or(c.Retries, RetriesDefault)
	c.RetryInitial = cmp.Or(c.RetryInitial, RetryInitialDefault)
	c.RetryMax = cmp.Or(c.RetryMax, RetryMaxDefault)
	c.RetryMaxElapsed = cmp.Or(c.RetryMaxElapsed, RetryMaxElapsedDefault)
	c.CallTimeout = cmp.Or(c.CallTimeout, CallTimeoutDefault)
	return c
}

// Validate reports every invalid field at once, each named as in the config
// file (e.g. "breaker.failure_ratio"). Zero fields are valid: they mean the
// default.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("breaker.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"window", c.Window}, {"open_timeout", c.OpenTimeout}, {"retry_initial", c.RetryInitial},
		{"retry_max", c.RetryMax}, {"retry_max_elapsed", c.RetryMaxElapsed}, {"call_timeout", c.CallTimeout},
	} {
		if d.v < 0 {
			bad(d.name, "must not be negative, got %s", d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"window_buckets", c.WindowBuckets}, {"min_requests", c.MinRequests}, {"half_open_probes", c.HalfOpenProbes}} {
		if n.v < 1 || n.v > math.MaxUint32 {
			bad(n.name, "must be between 1 and %d, got %d", uint32(math.MaxUint32), n.v)
		}
	}
	if !(c.FailureRatio > 0 && c.FailureRatio <= 1) {
		bad("failure_ratio", "must be in (0, 1], got %v", c.FailureRatio)
	}
	if c.Retries < RetriesDisabled {
		bad("retries", "must be at least %d (disabled), got %d", RetriesDisabled, c.Retries)
	}
	if c.Window > 0 && c.WindowBuckets > 0 && c.Window/time.Duration(c.WindowBuckets) <= 0 {
		bad("window_buckets", "window %s is too short for %d buckets", c.Window, c.WindowBuckets)
	}
	if c.RetryInitial > 0 && c.RetryMax > 0 && c.RetryMax < c.RetryInitial {
		bad("retry_max", "must be at least retry_initial (%s), got %s", c.RetryInitial, c.RetryMax)
	}
	return errors.Join(errs...)
}
