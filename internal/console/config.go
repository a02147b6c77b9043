package console

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/tracing"
)

// Config defaults.
const (
	WindowDefault         = 15 * time.Minute
	BucketDefault         = 5 * time.Second
	PollDefault           = 2 * time.Second
	PushDefault           = time.Second
	FeedSizeDefault       = 500
	DeploySizeDefault     = 500
	CostSizeDefault       = 2000
	StoryScanDefault      = 200_000
	StoryTimeoutDefault   = 10 * time.Second
	RequestTimeoutDefault = 5 * time.Second
	ComponentDefault      = "console"
	IdleDefault           = 10 * time.Minute
)

// Config configures New. Conn and JetStream are required; every other
// field has a default.
type Config struct {
	// Conn publishes the console's telemetry (consumer_paused, ...).
	Conn *nats.Conn
	// JetStream reads the streams, the registry and the consumers.
	JetStream jetstream.JetStream
	// Consumer is the base consumer name (consumer.name): the level
	// consumers are bus.LevelConsumer(Consumer, p) (wire.ConsumerDefault).
	Consumer string
	// Token, when set, must be carried by every mutating request. Empty:
	// mutating requests are accepted only with a loopback Host header and
	// no cross-site origin (for a console bound to loopback; see
	// ResolveToken).
	Token string
	// Replica stamps the telemetry the console publishes (ComponentDefault).
	Replica string
	// Window is how much history the charts show and the feed is seeded
	// with (WindowDefault).
	Window time.Duration
	// Bucket is the width of one chart point (BucketDefault).
	Bucket time.Duration
	// Poll is the time between reads of the registry, the consumers and
	// the DLQ (PollDefault).
	Poll time.Duration
	// Push is the time between state messages on /api/events (PushDefault).
	Push time.Duration
	// FeedSize, DeploySize and CostSize bound the rings of telemetry,
	// deployments and cost reports kept in memory.
	FeedSize, DeploySize, CostSize int
	// StoryScan bounds the telemetry records read for one event's story
	// (StoryScanDefault); StoryTimeout bounds the time (StoryTimeoutDefault).
	StoryScan    int
	StoryTimeout time.Duration
	// RequestTimeout bounds each NATS call of a poll or an API request
	// (RequestTimeoutDefault).
	RequestTimeout time.Duration
	// Idle is how long without a request or an open event stream the
	// loops keep running (IdleDefault); the next request starts them again,
	// seeding the charts from the telemetry stream anew.
	Idle time.Duration
	// TraceURL, when set, links the steps of an event's story to their
	// trace: a URL template holding tracing.TraceIDPlaceholder, as
	// http://localhost:16686/trace/{trace_id} for Jaeger.
	TraceURL string
	// Logger receives feed and poll errors (slog.Default()).
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Consumer = cmp.Or(c.Consumer, wire.ConsumerDefault)
	c.Replica = cmp.Or(c.Replica, ComponentDefault)
	c.Window = cmp.Or(c.Window, WindowDefault)
	c.Bucket = cmp.Or(c.Bucket, BucketDefault)
	c.Poll = cmp.Or(c.Poll, PollDefault)
	c.Push = cmp.Or(c.Push, PushDefault)
	c.FeedSize = cmp.Or(c.FeedSize, FeedSizeDefault)
	c.DeploySize = cmp.Or(c.DeploySize, DeploySizeDefault)
	c.CostSize = cmp.Or(c.CostSize, CostSizeDefault)
	c.StoryScan = cmp.Or(c.StoryScan, StoryScanDefault)
	c.StoryTimeout = cmp.Or(c.StoryTimeout, StoryTimeoutDefault)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, RequestTimeoutDefault)
	c.Idle = cmp.Or(c.Idle, IdleDefault)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if c.Conn == nil {
		errs = append(errs, errors.New("console: Conn is required"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New("console: JetStream is required"))
	}
	durations := []struct {
		name string
		d    time.Duration
	}{{"Window", c.Window}, {"Bucket", c.Bucket}, {"Poll", c.Poll}, {"Push", c.Push},
		{"StoryTimeout", c.StoryTimeout}, {"RequestTimeout", c.RequestTimeout}, {"Idle", c.Idle}}
	for _, f := range durations {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("console: %s: must not be negative, got %s", f.name, f.d))
		}
	}
	if err := tracing.CheckTraceURL(c.TraceURL); err != nil {
		errs = append(errs, fmt.Errorf("console: TraceURL: %w", err))
	}
	if c.Bucket > c.Window {
		errs = append(errs, fmt.Errorf("console: Bucket %s is longer than Window %s", c.Bucket, c.Window))
	}
	sizes := []struct {
		name string
		n    int
	}{{"FeedSize", c.FeedSize}, {"DeploySize", c.DeploySize}, {"CostSize", c.CostSize}, {"StoryScan", c.StoryScan}}
	for _, f := range sizes {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("console: %s: must not be negative, got %d", f.name, f.n))
		}
	}
	return errors.Join(errs...)
}
