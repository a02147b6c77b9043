package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// LevelConsumer is the durable consumer of priority level p derived from
// the configured (base) consumer name: <base>-<level>, e.g.
// regen-workers-critical.
func LevelConsumer(base string, p wire.Priority) string { return base + "-" + string(p) }

// LevelConsumerConfigs are the per-level durable pull consumers, highest
// level first, each on regen.changes.<level>.> (non-overlapping, as a
// work-queue stream requires). Each has the shared consumer's settings;
// its MaxAckPending caps that level's unacked messages across all
// replicas.
func LevelConsumerConfigs(cfg ProvisionConfig, levels []wire.Priority) []jetstream.ConsumerConfig {
	cfg = cfg.WithDefaults()
	out := make([]jetstream.ConsumerConfig, len(levels))
	for i, p := range levels {
		cc := ConsumerConfig(cfg)
		cc.Durable = LevelConsumer(cfg.Consumer, p)
		cc.FilterSubject = wire.LevelSubjects(p)
		cc.Description = "regen workers, priority " + string(p) + " (shared by every replica)"
		out[i] = cc
	}
	return out
}

// ProvisionLevels migrates REGEN_CHANGES from the single consumer
// (cfg.Consumer on regen.changes.>) to one consumer per level: it deletes
// the single consumer if it exists, which a work-queue stream requires
// before overlapping filters, then creates or updates each level's. The
// single consumer's undelivered and unacked messages stay in the stream
// and are delivered by the level consumers, each once. Idempotent and
// safe for replicas starting together. Run it with the replicas of the
// single-consumer version stopped: an ack of theirs after the deletion is
// lost and their event is processed again.
func ProvisionLevels(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig, levels []wire.Priority) error {
	cfg = cfg.WithDefaults()
	return retryProvision(ctx, func(ctx context.Context) error { return migrateToLevels(ctx, js, cfg, levels) })
}

func migrateToLevels(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig, levels []wire.Priority) error {
	if err := deleteConsumer(ctx, js, cfg.Consumer); err != nil {
		return fmt.Errorf("provision levels: %w", err)
	}
	for _, cc := range LevelConsumerConfigs(cfg, levels) {
		if _, err := js.CreateOrUpdateConsumer(ctx, wire.ChangesStream, cc); err != nil {
			return fmt.Errorf("provision levels: consumer %s: %w", cc.Durable, err)
		}
	}
	return nil
}

// NewLevelSources binds one Source per level to the consumers
// ProvisionLevels created (cfg.Consumer is the base name).
func NewLevelSources(ctx context.Context, js jetstream.JetStream, cfg SourceConfig, levels []wire.Priority) ([]*Source, error) {
	base := cfg.Consumer
	if base == "" {
		base = wire.ConsumerDefault
	}
	out := make([]*Source, len(levels))
	for i, p := range levels {
		lc := cfg
		lc.Consumer = LevelConsumer(base, p)
		s, err := NewSource(ctx, js, lc)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// TryFetch returns up to limit messages already pending, in one pull that
// does not wait.
func (s *Source) TryFetch(ctx context.Context, limit int) ([]wire.Message, error) {
	return s.pull(ctx, limit, 0)
}

// Backlog is how many messages the consumer still had undelivered when m
// was delivered (the pending token of its ack subject).
func (j *jsMsg) Backlog() uint64 {
	if n, ok := ackPending(j.m.Reply()); ok {
		return n
	}
	if md, err := j.m.Metadata(); err == nil {
		return md.NumPending
	}
	return 0
}

// ackPending reads the pending count, the 9th token of a short ack
// subject and the 11th of a long one (see ackNumbers).
func ackPending(reply string) (uint64, bool) {
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return 0, false
	}
	tok := strings.Split(reply, ".")
	i := 8
	switch len(tok) {
	case 9:
	case 11, 12:
		i = 10
	default:
		return 0, false
	}
	n, err := strconv.ParseUint(tok[i], 10, 64)
	return n, err == nil
}
