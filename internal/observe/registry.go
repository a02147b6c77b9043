package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// Registry defaults.
const (
	StatsIntervalDefault = 5 * time.Second
	WriteTimeoutDefault  = 2 * time.Second
)

// RegistryConfig configures NewRegistry. Only Replica is required.
type RegistryConfig struct {
	// Replica is this replica's id; its key is ReplicaKey(Replica).
	Replica string
	// Version is reported in the snapshot (BuildVersion()).
	Version string
	// Interval is the time between snapshots (StatsIntervalDefault). Keep
	// the bucket's TTL a few intervals long.
	Interval time.Duration
	// WriteTimeout bounds each write and the final delete (WriteTimeoutDefault).
	WriteTimeout time.Duration
	// Logger receives write failures (slog.Default()).
	Logger *slog.Logger
	// OnReplicas, when set, is told how many replicas are live (keys in
	// the bucket, this one included: at least 1) after every snapshot
	// this replica writes; rate limits take their share from it.
	OnReplicas func(n int)
}

// Registry publishes this replica's ReplicaStats to the REGEN_REPLICAS
// bucket every Interval and deletes its key on Stop. Start and Stop may be
// called from any goroutine; Stop is safe to call twice.
type Registry struct {
	kv  jetstream.KeyValue
	o   Orchestrator
	cfg RegistryConfig
	id  identity
	key string
	log *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRegistry returns a stopped registry writing o's snapshots into kv.
func NewRegistry(kv jetstream.KeyValue, o Orchestrator, cfg RegistryConfig) *Registry {
	if cfg.Interval <= 0 {
		cfg.Interval = StatsIntervalDefault
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Registry{kv: kv, o: o, cfg: cfg, id: newIdentity(cfg.Replica, cfg.Version, time.Now()),
		key: ReplicaKey(cfg.Replica), log: cfg.Logger.With(slog.String("component", "registry"))}
}

// Key is the replica's key in the bucket.
func (r *Registry) Key() string { return r.key }

// Start writes the first snapshot (a failure is logged, not returned:
// NATS may be away for a while), then one every Interval until Stop. ctx
// bounds only the first write. A second Start does nothing.
func (r *Registry) Start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return
	}
	r.publishLogged(ctx)
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(loopCtx, r.done)
}

func (r *Registry) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.publishLogged(ctx)
		}
	}
}

func (r *Registry) publishLogged(ctx context.Context) {
	if err := r.Publish(ctx); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "replica stats not published", slog.String("key", r.key), slog.Any("error", err))
	}
	r.countLogged(ctx)
}

// countLogged tells OnReplicas how many replicas are live; a failed count
// is logged and the last count kept.
func (r *Registry) countLogged(ctx context.Context) {
	if r.cfg.OnReplicas == nil {
		return
	}
	n, err := r.Live(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "live replicas not counted", slog.Any("error", err))
		}
		return
	}
	r.cfg.OnReplicas(n)
}

// Live counts the live replicas: the keys in the bucket (an entry expires
// a few intervals after its replica's last snapshot), at least 1 (this
// replica is live while it asks). It waits at most WriteTimeout.
func (r *Registry) Live(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	keys, err := r.kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("live replicas: %w", err)
	}
	defer func() { _ = keys.Stop() }()
	n := 0
	for range keys.Keys() {
		n++
	}
	return max(n, 1), nil
}

// Publish writes one snapshot now, waiting at most WriteTimeout.
func (r *Registry) Publish(ctx context.Context) error {
	data, err := json.Marshal(snapshot(r.o, r.id, time.Now()))
	if err != nil {
		return fmt.Errorf("replica stats %s: %w", r.key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	if _, err := r.kv.Put(ctx, r.key, data); err != nil {
		return fmt.Errorf("replica stats %s: %w", r.key, err)
	}
	return nil
}

// Stop ends the loop and deletes the replica's key, waiting at most
// WriteTimeout for the delete even when ctx is already done (a stopping
// replica should not linger in `regen stats`). Safe to call twice and
// before Start.
func (r *Registry) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done // the loop's write is bound to the cancelled context: it ends at once
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.WriteTimeout)
	defer dcancel()
	if err := r.kv.Delete(dctx, r.key); err != nil {
		return fmt.Errorf("replica stats %s: delete: %w", r.key, err)
	}
	return nil
}

// ListReplicas returns the snapshot of every live replica in the
// REGEN_REPLICAS bucket, sorted by replica id. Entries that do not decode
// are skipped. The error wraps jetstream.ErrBucketNotFound when no replica
// ever provisioned the bucket.
func ListReplicas(ctx context.Context, js jetstream.JetStream) ([]ReplicaStats, error) {
	kv, err := js.KeyValue(ctx, wire.ReplicasBucket)
	if err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	defer func() { _ = w.Stop() }()
	var out []ReplicaStats
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list replicas: %w", ctx.Err())
		case e := <-w.Updates():
			if e == nil {
				slices.SortFunc(out, func(a, b ReplicaStats) int { return strings.Compare(a.Replica, b.Replica) })
				return out, nil
			}
			var rs ReplicaStats
			if json.Unmarshal(e.Value(), &rs) == nil {
				out = append(out, rs)
			}
		}
	}
}
