package orchestrator

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Defaults (the seed's, plus what the loop needs). AckWait, MaxDeliver
// and MaxPayload default to wire.AckWaitDefault, wire.MaxDeliverDefault
// and wire.MaxPayloadDefault, which they share with the consumer bus
// provisions and the event decoder.
const (
	TargetCycleDefault         = 30 * time.Second
	HealthCheckIntervalDefault = 60 * time.Second
	FetchWaitDefault           = 500 * time.Millisecond
	EventTimeoutDefault        = 30 * time.Second
	NakDelayDefault            = time.Second
	NakDelayMaxDefault         = time.Minute
	OpenNakDelayDefault        = 10 * time.Second
	ShutdownGraceDefault       = 10 * time.Second
	TuneMinDefault             = 1
	TuneCooldownDefault        = 30 * time.Second
)

// Config tunes an Orchestrator. Start from DefaultConfig; zero numeric
// fields take their defaults in WithDefaults.
type Config struct {
	// Autonomous keeps fetching forever; false drains the backlog and stops.
	Autonomous bool `yaml:"autonomous" json:"autonomous"`
	// MaxConcurrent bounds events in flight (default runtime.NumCPU()).
	MaxConcurrent int `yaml:"max_concurrent" json:"max_concurrent"`
	// BatchSize is how many events one fetch asks for (default 2×MaxConcurrent, at least 16).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// FetchWait is the longest a fetch waits for the first event (500ms).
	FetchWait time.Duration `yaml:"fetch_wait" json:"fetch_wait"`
	// EventTimeout bounds the work on one event (30s).
	EventTimeout time.Duration `yaml:"event_timeout" json:"event_timeout"`
	// TargetCycle is the cycle time the health loop and tuner aim under (30s).
	TargetCycle time.Duration `yaml:"target_cycle" json:"target_cycle"`
	// AdaptiveOptimization lets the tuner change concurrency and batch size.
	AdaptiveOptimization bool `yaml:"adaptive_optimization" json:"adaptive_optimization"`
	// HealthCheckInterval is the health loop's period (60s).
	HealthCheckInterval time.Duration `yaml:"health_check_interval" json:"health_check_interval"`
	// AckWait must equal the consumer's AckWait; InProgress is sent at half of it (30s).
	AckWait time.Duration `yaml:"ack_wait" json:"ack_wait"`
	// MaxDeliver is an event's delivery budget: the delivery that spends
	// it and fails is dead-lettered, as is one whose earlier deliveries
	// spent it without an outcome (crashes). With Deps.Attempts deferrals
	// spend none of it; without, every delivery does, and it should equal
	// the consumer's MaxDeliver (10).
	MaxDeliver int `yaml:"max_deliver" json:"max_deliver"`
	// NakDelay is the first redelivery delay after a transient failure,
	// doubling per delivery up to NakDelayMax (1s, 1m).
	NakDelay    time.Duration `yaml:"nak_delay" json:"nak_delay"`
	NakDelayMax time.Duration `yaml:"nak_delay_max" json:"nak_delay_max"`
	// OpenNakDelay is the redelivery delay while a circuit is open and the
	// breaker did not say how long (10s).
	OpenNakDelay time.Duration `yaml:"open_nak_delay" json:"open_nak_delay"`
	// ShutdownGrace is how long Stop lets in-flight events finish (10s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace" json:"shutdown_grace"`
	// MaxPayload is the largest accepted event in bytes (1 MiB).
	MaxPayload int `yaml:"max_payload" json:"max_payload"`
	// Replica names this replica in telemetry (default hostname-pid).
	Replica string `yaml:"replica" json:"replica"`
	// TuneMin and TuneMax bound the concurrency the tuner may set (1, and
	// 0 = auto: max(4×MaxConcurrent, 64)); MaxConcurrent is where it starts.
	TuneMin int `yaml:"tune_min" json:"tune_min"`
	TuneMax int `yaml:"tune_max" json:"tune_max"`
	// TuneCooldown is the tuner's analysis window and the least time
	// between two changes (30s).
	TuneCooldown time.Duration `yaml:"tune_cooldown" json:"tune_cooldown"`
	// ScaleLead is how far ahead the cluster scaling advice forecasts the
	// arrivals: about the time a new replica takes to start helping
	// (0: 2 × HealthCheckInterval; see ScaleHorizon).
	ScaleLead time.Duration `yaml:"scale_lead" json:"scale_lead"`
	// MemoryLimit is the heap size in bytes above which the health loop
	// raises a critical performance_alert (0: no limit; the cgroup memory
	// limit is watched regardless).
	MemoryLimit int `yaml:"memory_limit" json:"memory_limit"`
	// PriorityLevels fetches through one consumer per priority level,
	// scheduled by the fields below (false: the single consumer on
	// regen.changes.>, in stream order). The service migrates the stream's
	// consumers either way at start.
	PriorityLevels bool `yaml:"priority_levels" json:"priority_levels"`
	// PriorityWeights, PriorityStrict and PriorityAging are the
	// Scheduler's policy (PriorityConfig: 8:4:2:1, weighted, K=4).
	PriorityWeights map[wire.Priority]int `yaml:"priority_weights" json:"priority_weights"`
	PriorityStrict  bool                  `yaml:"priority_strict" json:"priority_strict"`
	PriorityAging   int                   `yaml:"priority_aging" json:"priority_aging"`
}

// Priority is the scheduler policy of c.
func (c Config) Priority() PriorityConfig {
	return PriorityConfig{Weights: c.PriorityWeights, Strict: c.PriorityStrict, AgingCycles: c.PriorityAging}
}

// DefaultConfig returns the seed defaults: autonomous, NumCPU workers,
// 30s target cycle, adaptive optimisation on, 60s health checks.
func DefaultConfig() Config {
	return Config{Autonomous: true, AdaptiveOptimization: true, PriorityLevels: true}.WithDefaults()
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = runtime.NumCPU()
	}
	if c.BatchSize == 0 {
		c.BatchSize = max(2*c.MaxConcurrent, 16)
	}
	c.FetchWait = cmp.Or(c.FetchWait, FetchWaitDefault)
	c.EventTimeout = cmp.Or(c.EventTimeout, EventTimeoutDefault)
	c.TargetCycle = cmp.Or(c.TargetCycle, TargetCycleDefault)
	c.HealthCheckInterval = cmp.Or(c.HealthCheckInterval, HealthCheckIntervalDefault)
	c.AckWait = cmp.Or(c.AckWait, wire.AckWaitDefault)
	c.NakDelay = cmp.Or(c.NakDelay, NakDelayDefault)
	c.NakDelayMax = cmp.Or(c.NakDelayMax, NakDelayMaxDefault)
	c.OpenNakDelay = cmp.Or(c.OpenNakDelay, OpenNakDelayDefault)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, ShutdownGraceDefault)
	c.MaxDeliver = cmp.Or(c.MaxDeliver, wire.MaxDeliverDefault)
	c.MaxPayload = cmp.Or(c.MaxPayload, wire.MaxPayloadDefault)
	if c.Replica == "" {
		c.Replica = defaultReplica()
	}
	c.TuneMin = cmp.Or(c.TuneMin, TuneMinDefault)
	c.TuneCooldown = cmp.Or(c.TuneCooldown, TuneCooldownDefault)
	pc := c.Priority().WithDefaults()
	c.PriorityWeights, c.PriorityAging = pc.Weights, pc.AgingCycles
	return c
}

// TuneBounds returns the concurrency bounds of the tuner, resolving
// TuneMax 0 to max(4×MaxConcurrent, 64).
func (c Config) TuneBounds() (lo, hi int) {
	hi = c.TuneMax
	if hi == 0 {
		hi = max(4*c.MaxConcurrent, 64)
	}
	return c.TuneMin, hi
}

// ScaleHorizon is how far ahead the cluster advice looks: ScaleLead, 0
// resolved to 2 × HealthCheckInterval.
func (c Config) ScaleHorizon() time.Duration {
	return cmp.Or(c.ScaleLead, 2*c.HealthCheckInterval)
}

// Validate reports every invalid field at once, each named as in the
// config file (e.g. "max_concurrent").
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.MaxConcurrent < 1 {
		bad("max_concurrent", "must be at least 1, got %d", c.MaxConcurrent)
	}
	if c.BatchSize < 1 {
		bad("batch_size", "must be at least 1, got %d", c.BatchSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"fetch_wait", c.FetchWait}, {"event_timeout", c.EventTimeout}, {"target_cycle", c.TargetCycle},
		{"health_check_interval", c.HealthCheckInterval}, {"ack_wait", c.AckWait}, {"nak_delay", c.NakDelay},
		{"nak_delay_max", c.NakDelayMax}, {"open_nak_delay", c.OpenNakDelay}, {"shutdown_grace", c.ShutdownGrace},
		{"tune_cooldown", c.TuneCooldown}} {
		if d.v <= 0 {
			bad(d.name, "must be positive, got %s", d.v)
		}
	}
	if c.MaxDeliver < 1 {
		bad("max_deliver", "must be at least 1, got %d", c.MaxDeliver)
	}
	if c.MaxPayload < 1 {
		bad("max_payload", "must be at least 1 byte, got %d", c.MaxPayload)
	}
	if c.NakDelayMax < c.NakDelay {
		bad("nak_delay_max", "must be at least nak_delay (%s), got %s", c.NakDelay, c.NakDelayMax)
	}
	errs = append(errs, c.validateTuning()...)
	errs = append(errs, c.Priority().Validate())
	return errors.Join(errs...)
}

// validateTuning checks the tuner's bounds, the scale lead and the
// memory limit.
func (c Config) validateTuning() []error {
	var errs []error
	lo, hi := c.TuneBounds()
	switch {
	case lo < 1:
		errs = append(errs, fmt.Errorf("tune_min: must be at least 1, got %d", lo))
	case hi < lo:
		errs = append(errs, fmt.Errorf("tune_max: must be at least tune_min (%d), got %d", lo, hi))
	case c.AdaptiveOptimization && (c.MaxConcurrent < lo || c.MaxConcurrent > hi):
		errs = append(errs, fmt.Errorf("max_concurrent: must be within tune_min..tune_max (%d..%d) when adaptive, got %d",
			lo, hi, c.MaxConcurrent))
	}
	if c.ScaleLead < 0 {
		errs = append(errs, fmt.Errorf("scale_lead: must be 0 (2 x health_check_interval) or positive, got %s", c.ScaleLead))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, fmt.Errorf("memory_limit: must be 0 (off) or a byte count, got %d", c.MemoryLimit))
	}
	return errs
}
