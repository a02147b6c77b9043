package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/embedded"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/faults"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/tracing"
	"github.com/regen-dev/regen/orchestrator"
	"github.com/regen-dev/regen/workers/deploy"
	"github.com/regen-dev/regen/workers/exec"
)

// Config is everything `regen run` needs. YAML keys are the field tags;
// the orchestrator's keys (max_concurrent, target_cycle, ...) sit at the
// top level.
type Config struct {
	NATS      NATS     `yaml:"nats"`
	Embedded  Embedded `yaml:"embedded"`
	Templates string   `yaml:"templates"`
	// Engine is "graph" (templates over the KV model) or "exec" (a
	// generator command per change).
	Engine string `yaml:"engine"`
	Exec   Exec   `yaml:"exec"`
	// Deploy lists deploy targets: "dir:PATH" or "objectstore:BUCKET".
	Deploy   []string `yaml:"deploy"`
	Consumer Consumer `yaml:"consumer"`
	// DLQ bounds the REGEN_DLQ stream.
	DLQ DLQ `yaml:"dlq"`
	// Telemetry bounds the REGEN_TELEMETRY stream.
	Telemetry Telemetry `yaml:"telemetry"`
	// Region places the deployment in one of several regions (none by
	// default).
	Region Region `yaml:"region"`
	Log    Log    `yaml:"log"`
	// HTTP is the address of the metrics/probe server ("" = off).
	HTTP string `yaml:"http"`
	// Pprof serves /debug/pprof/ on the HTTP server (off by default).
	Pprof bool `yaml:"pprof"`
	// ConsoleToken is the token the console's mutating requests need
	// (empty: none on a loopback HTTP address, a generated one otherwise).
	ConsoleToken string `yaml:"console_token"`
	// ConsoleTraceURL links the console's event stories to their traces:
	// a URL template holding {trace_id} (empty: no links).
	ConsoleTraceURL string `yaml:"console_trace_url"`
	// StatsInterval is how often the replica publishes its stats snapshot
	// to the REGEN_REPLICAS bucket; entries live 3 x as long (5s).
	StatsInterval time.Duration `yaml:"stats_interval"`
	// SignalDebounce is how long after the first SIGINT/SIGTERM another
	// one is taken as the same request (a supervisor signalling the process
	// and its group) and ignored; a signal after it forces exit (1s).
	SignalDebounce time.Duration `yaml:"signal_debounce"`
	// Faults injects failures for tests and drills (see internal/faults);
	// empty in production.
	Faults string `yaml:"faults,omitempty"`
	// RateLimits are the cluster-wide rate limits (none by default).
	RateLimits   RateLimits          `yaml:"rate_limits"`
	Orchestrator orchestrator.Config `yaml:",inline"`
	Breaker      breaker.Config      `yaml:"breaker"`
	Validation   Validation          `yaml:",inline"`
}

// NATS says where the NATS server is; URL empty means embedded.
type NATS struct {
	URL      string `yaml:"url"`
	Creds    string `yaml:"creds"`
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
	TLSCA    string `yaml:"tls_ca"`
	TLSCert  string `yaml:"tls_cert"`
	TLSKey   string `yaml:"tls_key"`
	// Replicas is the stream/bucket replication factor (3 in a cluster).
	Replicas int `yaml:"replicas"`
}

// Embedded configures the in-process nats-server.
type Embedded struct {
	Listen  string `yaml:"listen"`
	DataDir string `yaml:"data_dir"`
	// Sync is "default" (JetStream's periodic fsync) or "always".
	Sync string `yaml:"sync"`
}

// Consumer sizes the shared durable consumer.
type Consumer struct {
	Name          string        `yaml:"name"`
	MaxAckPending int           `yaml:"max_ack_pending"`
	Dedupe        time.Duration `yaml:"dedupe_window"`
}

// DLQ bounds REGEN_DLQ. At a limit the stream refuses new dead letters
// (discard new): their events are nak'ed and stay in the work queue until
// there is room, so none is lost; replicas warn from AlertRatio on.
type DLQ struct {
	// MaxBytes bounds the stored dead letters (1 GiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxMsgs bounds how many are kept (0: no limit).
	MaxMsgs int64 `yaml:"max_msgs"`
	// MaxAge drops older dead letters (0: kept until replayed or purged).
	MaxAge time.Duration `yaml:"max_age"`
	// AlertRatio is the share of a limit from which replicas warn and
	// publish performance_alert dlq_near_limit (0.8).
	AlertRatio float64 `yaml:"alert_ratio"`
}

// Telemetry bounds REGEN_TELEMETRY; the oldest events make room (discard old).
type Telemetry struct {
	// MaxBytes bounds the stored telemetry (256 MiB).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxAge is how long telemetry is kept for replay (24h).
	MaxAge time.Duration `yaml:"max_age"`
}

func (c Config) validateStorage() []error {
	var errs []error
	if c.DLQ.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("dlq.max_bytes: must be at least 1, got %d", c.DLQ.MaxBytes))
	}
	if c.DLQ.MaxMsgs < 0 {
		errs = append(errs, fmt.Errorf("dlq.max_msgs: must be 0 (no limit) or more, got %d", c.DLQ.MaxMsgs))
	}
	if c.DLQ.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("dlq.max_age: must be 0 (forever) or more, got %s", c.DLQ.MaxAge))
	}
	if !(c.DLQ.AlertRatio > 0 && c.DLQ.AlertRatio <= 1) {
		errs = append(errs, fmt.Errorf("dlq.alert_ratio: must be above 0 and at most 1, got %g", c.DLQ.AlertRatio))
	}
	if c.Telemetry.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("telemetry.max_bytes: must be at least 1, got %d", c.Telemetry.MaxBytes))
	}
	if c.Telemetry.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("telemetry.max_age: must be positive, got %s", c.Telemetry.MaxAge))
	}
	return errs
}

// Exec configures the exec engine.
type Exec struct {
	// Command is the generator's argv (run directly, never via a shell).
	Command []string `yaml:"command"`
	// Timeout bounds one run of the generator.
	Timeout time.Duration `yaml:"timeout"`
}

func (c Config) validateEngine() []error {
	switch c.Engine {
	case "graph":
		if c.Templates == "" {
			return []error{errors.New("templates: a template directory is required by the graph engine")}
		}
	case "exec":
		var errs []error
		if len(c.Exec.Command) == 0 {
			errs = append(errs, errors.New("exec.command: the exec engine needs a generator command"))
		}
		if c.Exec.Timeout <= 0 {
			errs = append(errs, fmt.Errorf("exec.timeout: must be positive, got %s", c.Exec.Timeout))
		}
		return errs
	default:
		return []error{fmt.Errorf("engine: must be graph or exec, got %q", c.Engine)}
	}
	return nil
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto (tint on a terminal, JSON otherwise), text, json
}

// SignalDebounceDefault is the default SignalDebounce.
const SignalDebounceDefault = time.Second

// Default returns the defaults (the seed's for the orchestrator).
func Default() Config {
	return Config{
		Embedded:       Embedded{Listen: embedded.ListenDefault, DataDir: "./data", Sync: "default"},
		NATS:           NATS{Replicas: 1},
		Templates:      "examples/templates",
		Engine:         "graph",
		Exec:           Exec{Timeout: exec.TimeoutDefault},
		Deploy:         []string{"dir:./out"},
		Consumer:       Consumer{Name: wire.ConsumerDefault, MaxAckPending: bus.MaxAckPendingDefault, Dedupe: bus.DedupeDefault},
		DLQ:            DLQ{MaxBytes: bus.DLQMaxBytesDefault, AlertRatio: bus.DLQAlertRatioDefault},
		Telemetry:      Telemetry{MaxBytes: bus.TelemetryMaxBytesDefault, MaxAge: bus.TelemetryMaxAgeDefault},
		Region:         Region{IngestMaxAge: bus.IngestMaxAgeDefault},
		Log:            Log{Level: "info", Format: "auto"},
		StatsInterval:  observe.StatsIntervalDefault,
		SignalDebounce: SignalDebounceDefault,
		Orchestrator:   defaultOrchestrator(),
		Breaker:        breaker.Config{}.WithDefaults(),
		Validation:     Validation{ValidatorTimeout: deploy.ValidatorTimeoutDefault},
	}
}

func defaultOrchestrator() orchestrator.Config {
	o := orchestrator.DefaultConfig()
	o.BatchSize, o.Replica = 0, "" // resolved after overlays
	return o
}

// Target is one parsed deploy target.
type Target struct {
	Kind string // "dir" or "objectstore"
	Arg  string // the directory or the bucket
}

// Targets parses Deploy.
func (c Config) Targets() ([]Target, error) {
	var out []Target
	for _, d := range c.Deploy {
		kind, arg, ok := strings.Cut(d, ":")
		if !ok || arg == "" || (kind != "dir" && kind != "objectstore") {
			return nil, fmt.Errorf("deploy: %q is not dir:PATH or objectstore:BUCKET", d)
		}
		out = append(out, Target{Kind: kind, Arg: arg})
	}
	return out, nil
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Orchestrator.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Breaker.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Targets(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Deploy) == 0 {
		errs = append(errs, errors.New("deploy: at least one target is required"))
	}
	errs = append(errs, c.validateEngine()...)
	errs = append(errs, c.validateValidation()...)
	if _, err := faults.Parse(c.Faults); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateNATS()...)
	errs = append(errs, c.validateStorage()...)
	errs = append(errs, c.validateRateLimits()...)
	errs = append(errs, c.validateRegion()...)
	if err := tracing.CheckTraceURL(c.ConsoleTraceURL); err != nil {
		errs = append(errs, fmt.Errorf("console_trace_url: %w", err))
	}
	return errors.Join(errs...)
}

func (c Config) validateNATS() []error {
	var errs []error
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		errs = append(errs, fmt.Errorf("nats.replicas: must be 1..5, got %d", c.NATS.Replicas))
	}
	if c.NATS.URL == "" && c.Embedded.DataDir == "" {
		errs = append(errs, errors.New("embedded.data_dir: required when nats.url is empty"))
	}
	if c.Embedded.Sync != "default" && c.Embedded.Sync != "always" {
		errs = append(errs, fmt.Errorf("embedded.sync: must be default or always, got %q", c.Embedded.Sync))
	}
	if c.StatsInterval <= 0 {
		errs = append(errs, fmt.Errorf("stats_interval: must be positive, got %s", c.StatsInterval))
	}
	if c.SignalDebounce < 0 {
		errs = append(errs, fmt.Errorf("signal_debounce: must not be negative, got %s", c.SignalDebounce))
	}
	if c.Consumer.MaxAckPending < 1 {
		errs = append(errs, fmt.Errorf("consumer.max_ack_pending: must be at least 1, got %d", c.Consumer.MaxAckPending))
	}
	if c.Consumer.Dedupe <= 0 {
		errs = append(errs, fmt.Errorf("consumer.dedupe_window: must be positive, got %s", c.Consumer.Dedupe))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: must be debug, info, warn or error, got %q", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: must be auto, text or json, got %q", c.Log.Format))
	}
	return errs
}

// Redacted returns a copy safe to print: the password, the tokens and any
// credentials embedded in the NATS URLs (nats://user:pass@host) replaced
// by REDACTED.
func (c Config) Redacted() Config {
	for _, s := range []*string{&c.NATS.Password, &c.NATS.Token, &c.ConsoleToken} {
		if *s != "" {
			*s = bus.Redacted
		}
	}
	c.NATS.URL = bus.RedactURLs(c.NATS.URL)
	return c
}
