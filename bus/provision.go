package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// ProvisionConfig sizes what Provision creates. The zero value works.
type ProvisionConfig struct {
	// Replicas is the stream/bucket replication factor (1; 3 in a cluster).
	Replicas int
	// Dedupe is the REGEN_CHANGES duplicate window (2m).
	Dedupe time.Duration
	// TelemetryMaxAge bounds how long telemetry is kept for replay (24h).
	TelemetryMaxAge time.Duration
	// TelemetryMaxBytes bounds REGEN_TELEMETRY (256 MiB; -1: no limit).
	// The oldest telemetry is discarded to make room.
	TelemetryMaxBytes int64
	// DLQMaxBytes bounds REGEN_DLQ (1 GiB; -1: no limit). At the limit
	// the stream refuses new dead letters (discard new): DeadLetter fails
	// and the event stays in the work queue, nak'ed, until there is room.
	DLQMaxBytes int64
	// DLQMaxMsgs bounds the dead letters kept (0 or -1: no limit), refused
	// beyond like DLQMaxBytes.
	DLQMaxMsgs int64
	// DLQMaxAge drops dead letters older than this (0: kept until
	// replayed or purged).
	DLQMaxAge time.Duration
	// Consumer names the shared durable pull consumer (wire.ConsumerDefault).
	Consumer string
	// AckWait is how long a delivered message may stay unacked
	// (wire.AckWaitDefault, 30s).
	AckWait time.Duration
	// MaxDeliver bounds deliveries per message before the server gives up
	// on it and the Reaper dead-letters it (10); -1 is no bound, for a
	// consumer whose orchestrator keeps the budget itself (with Attempts,
	// so that deferrals spend none of it).
	MaxDeliver int
	// MaxAckPending bounds unacked messages across all replicas (4096). Size
	// it at least replicas x 6 x batch (orchestrator.MaxBatchesHeld batches).
	MaxAckPending int
	// ReplicaTTL is how long a replica's stats snapshot lives in
	// ReplicasBucket without being refreshed (15s: 3 x the default
	// publish interval).
	ReplicaTTL time.Duration
	// LeaderTTL is how long the leadership lease in LeaderBucket lives
	// without a renewal: a crashed leader is replaced within it (3m: 3 x
	// the default health interval). Every replica's lease must use it.
	LeaderTTL time.Duration
	// ObjectStore, when set, is the object-store bucket to create.
	ObjectStore string
	// Storage is file (default) or memory.
	Storage jetstream.StorageType
	// Levels, when set, makes Provision create one consumer per level
	// (ProvisionLevels) instead of the single one; either way the other
	// layout's consumers are deleted first, as a work-queue stream
	// refuses overlapping consumers. Every replica must agree.
	Levels []wire.Priority
	// Region, when set, is this region's name (its JetStream domain):
	// publishes land in IngestStream, and REGEN_CHANGES sources it and the
	// ingest stream of every peer (docs/scale-out.md). Empty: one region,
	// REGEN_CHANGES captures regen.changes.> itself.
	Region string
	// Peers are the other regions' JetStream domains (with Region only).
	Peers []string
	// IngestMaxAge bounds how long IngestStream keeps events
	// (IngestMaxAgeDefault), and so the longest outage a region catches
	// up from.
	IngestMaxAge time.Duration
}

// Defaults for ProvisionConfig; the consumer's name, AckWait and
// MaxDeliver default to wire.ConsumerDefault, wire.AckWaitDefault and
// wire.MaxDeliverDefault, which the orchestrator shares.
const (
	DedupeDefault          = 2 * time.Minute
	TelemetryMaxAgeDefault = 24 * time.Hour
	// TelemetryMaxBytesDefault is the default TelemetryMaxBytes (256 MiB).
	TelemetryMaxBytesDefault = 256 << 20
	// DLQMaxBytesDefault is the default DLQMaxBytes (1 GiB).
	DLQMaxBytesDefault   = 1 << 30
	MaxAckPendingDefault = 4096
	ReplicaTTLDefault    = 15 * time.Second
	LeaderTTLDefault     = 3 * time.Minute
)

// WithDefaults fills zero fields with their defaults.
func (c ProvisionConfig) WithDefaults() ProvisionConfig {
	c.Replicas = max(c.Replicas, 1)
	c.Dedupe = cmp.Or(c.Dedupe, DedupeDefault)
	c.TelemetryMaxAge = cmp.Or(c.TelemetryMaxAge, TelemetryMaxAgeDefault)
	c.TelemetryMaxBytes = limitOr(c.TelemetryMaxBytes, TelemetryMaxBytesDefault)
	c.DLQMaxBytes = limitOr(c.DLQMaxBytes, DLQMaxBytesDefault)
	if c.DLQMaxMsgs <= 0 {
		c.DLQMaxMsgs = -1
	}
	c.Consumer = cmp.Or(c.Consumer, wire.ConsumerDefault)
	c.AckWait = cmp.Or(c.AckWait, wire.AckWaitDefault)
	c.ReplicaTTL = cmp.Or(c.ReplicaTTL, ReplicaTTLDefault)
	c.LeaderTTL = cmp.Or(c.LeaderTTL, LeaderTTLDefault)
	c.MaxDeliver = cmp.Or(c.MaxDeliver, wire.MaxDeliverDefault)
	c.MaxAckPending = cmp.Or(c.MaxAckPending, MaxAckPendingDefault)
	c.IngestMaxAge = cmp.Or(c.IngestMaxAge, IngestMaxAgeDefault)
	return c
}

// limitOr is def for 0, -1 (JetStream's "no limit") for any negative n.
func limitOr(n, def int64) int64 {
	switch {
	case n == 0:
		return def
	case n < 0:
		return -1
	}
	return n
}

// Provision creates or updates every stream, the shared consumer, the KV
// buckets and (if configured) the object store. It is idempotent and safe
// for many replicas starting at once: a lost creation race is retried as an
// update.
func Provision(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	cfg = cfg.WithDefaults()
	steps := []struct {
		name string
		fn   func(context.Context, jetstream.JetStream, ProvisionConfig) error
	}{
		{"streams", provisionStreams},
		{"consumer", provisionConsumer},
		{"buckets", provisionBuckets},
	}
	for _, s := range steps {
		err := retryProvision(ctx, func(ctx context.Context) error { return s.fn(ctx, js, cfg) })
		if err != nil {
			return fmt.Errorf("provision %s: %w", s.name, err)
		}
	}
	return nil
}

// provisionAttemptTimeout bounds one provisioning attempt. A JetStream API
// request can go unanswered (a cluster leaves both of two concurrent
// creations of the same R3 stream unanswered: replicas starting together),
// and would otherwise use up the caller's whole deadline on one attempt.
const provisionAttemptTimeout = 5 * time.Second

func retryProvision(ctx context.Context, fn func(context.Context) error) error {
	var err error
	for attempt := range 5 {
		actx, cancel := context.WithTimeout(ctx, provisionAttemptTimeout)
		err = fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	return err
}

// streamConfigs are the stream configurations Provision applies, in
// order: REGEN_CHANGES (in a region, REGEN_INGEST and then REGEN_CHANGES,
// see regionStreams), REGEN_TELEMETRY and REGEN_DLQ.
func streamConfigs(cfg ProvisionConfig) []jetstream.StreamConfig {
	cfg = cfg.WithDefaults()
	changes := []jetstream.StreamConfig{
		{Name: wire.ChangesStream, Subjects: []string{wire.ChangesSubjects}, Retention: jetstream.WorkQueuePolicy,
			Duplicates: cfg.Dedupe, Replicas: cfg.Replicas, Storage: cfg.Storage,
			Description: "regen change events (work queue)"}}
	if cfg.regional() {
		changes = regionStreams(cfg)
	}
	return append(changes, []jetstream.StreamConfig{
		{Name: wire.TelemetryStream, Subjects: []string{wire.TelemetrySubject}, Retention: jetstream.LimitsPolicy,
			MaxAge: cfg.TelemetryMaxAge, MaxBytes: cfg.TelemetryMaxBytes, MaxMsgs: -1, Replicas: cfg.Replicas,
			Storage: cfg.Storage, Discard: jetstream.DiscardOld, Description: "regen telemetry for late observers"},
		// Discard new: a dead letter is data the user may need, so at the
		// limit the DLQ refuses new ones (their events stay in the work
		// queue) instead of dropping old ones.
		{Name: wire.DLQStream, Subjects: []string{wire.DLQSubjects}, Retention: jetstream.LimitsPolicy,
			MaxBytes: cfg.DLQMaxBytes, MaxMsgs: cfg.DLQMaxMsgs, MaxAge: cfg.DLQMaxAge, Discard: jetstream.DiscardNew,
			Replicas: cfg.Replicas, Storage: cfg.Storage, Description: "regen dead letters"},
	}...)
}

func provisionStreams(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	var later []jetstream.StreamConfig
	for _, sc := range streamConfigs(cfg) {
		err := provisionStream(ctx, js, sc)
		if sc.Name == IngestStream && isSubjectOverlap(err) {
			later = append(later, sc) // REGEN_CHANGES gives its subjects up first
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, sc := range later {
		if err := provisionStream(ctx, js, sc); err != nil {
			return err
		}
	}
	return nil
}

func provisionStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	err := createOrUpdate(
		func() error { _, err := js.CreateStream(ctx, sc); return err },
		func() error { _, err := js.UpdateStream(ctx, sc); return err })
	if err != nil {
		return fmt.Errorf("stream %s: %w", sc.Name, err)
	}
	return nil
}

// createOrUpdate creates a stream (or a bucket over one) and updates it only
// when one of that name exists with another configuration. An identical
// create is answered from the existing stream without touching it, so
// replicas starting together do not rewrite each other's streams; an update
// of a stream in use (nats.go's CreateOrUpdate* always tries one first) races
// with consumer creation inside nats-server 2.15.2 (docs/known-issues.md).
func createOrUpdate(create, update func() error) error {
	err := create()
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return update()
	}
	return err
}

// ConsumerConfig is the shared durable pull consumer's configuration.
func ConsumerConfig(cfg ProvisionConfig) jetstream.ConsumerConfig {
	cfg = cfg.WithDefaults()
	return jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "regen workers (shared by every replica)",
		FilterSubject: wire.ChangesSubjects,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      cfg.Replicas,
	}
}

func provisionConsumer(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	if len(cfg.Levels) > 0 {
		return migrateToLevels(ctx, js, cfg, cfg.Levels)
	}
	for _, cc := range LevelConsumerConfigs(cfg, wire.Priorities) {
		if err := deleteConsumer(ctx, js, cc.Durable); err != nil {
			return err
		}
	}
	_, err := js.CreateOrUpdateConsumer(ctx, wire.ChangesStream, ConsumerConfig(cfg))
	return err
}

// deleteConsumer deletes the REGEN_CHANGES consumer name if it exists.
func deleteConsumer(ctx context.Context, js jetstream.JetStream, name string) error {
	err := js.DeleteConsumer(ctx, wire.ChangesStream, name)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	return nil
}

func provisionBuckets(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	kvs := []jetstream.KeyValueConfig{
		{Bucket: wire.ModelBucket, Description: "regen source model, one key per node", Replicas: cfg.Replicas, Storage: cfg.Storage},
		{Bucket: wire.ArtifactBucket, Description: "regen deployed artifacts: hash and revision", Replicas: cfg.Replicas, Storage: cfg.Storage},
		{Bucket: wire.ReplicasBucket, Description: "regen live replicas: stats snapshots", TTL: cfg.ReplicaTTL,
			Replicas: cfg.Replicas, Storage: cfg.Storage},
		{Bucket: wire.LeaderBucket, Description: "regen leadership lease", TTL: cfg.LeaderTTL, History: 1,
			Replicas: cfg.Replicas, Storage: cfg.Storage},
		{Bucket: wire.AttemptsBucket, Description: "regen deferrals and failures per unsettled event", TTL: AttemptsTTL,
			Replicas: cfg.Replicas, Storage: cfg.Storage},
	}
	for _, kc := range kvs {
		err := createOrUpdate(
			func() error { _, err := js.CreateKeyValue(ctx, kc); return err },
			func() error { _, err := js.UpdateKeyValue(ctx, kc); return err })
		if err != nil {
			return fmt.Errorf("kv %s: %w", kc.Bucket, err)
		}
	}
	if cfg.ObjectStore == "" {
		return nil
	}
	oc := jetstream.ObjectStoreConfig{
		Bucket: cfg.ObjectStore, Description: "regen deployed artifacts", Replicas: cfg.Replicas, Storage: cfg.Storage}
	err := createOrUpdate(
		func() error { _, err := js.CreateObjectStore(ctx, oc); return err },
		func() error { _, err := js.UpdateObjectStore(ctx, oc); return err })
	if err != nil {
		return fmt.Errorf("object store %s: %w", cfg.ObjectStore, err)
	}
	return nil
}
