package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/lease"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/orchestrator"

	"github.com/nats-io/nats.go/jetstream"
)

// leaseStopTimeout bounds the release of the leadership lease at stop.
const leaseStopTimeout = 2 * time.Second

// clusterView is the orchestrator's Cluster: the leadership lease in
// REGEN_LEADER, every replica's Capacity from REGEN_REPLICAS and each
// level consumer's pending count.
type clusterView struct {
	js     jetstream.JetStream
	lease  *lease.Lease
	levels []levelConsumer
}

// levelConsumer is a priority level and its consumer ("" priority: the
// single consumer without priority levels).
type levelConsumer struct {
	priority wire.Priority
	consumer string
}

// Leader reports whether this replica holds the lease.
func (c *clusterView) Leader() bool { return c.lease.Leader() }

// Snapshot reads the registry and the level consumers.
func (c *clusterView) Snapshot(ctx context.Context) (orchestrator.ClusterSnapshot, error) {
	rs, err := observe.ListReplicas(ctx, c.js)
	if err != nil {
		return orchestrator.ClusterSnapshot{}, err
	}
	s := orchestrator.ClusterSnapshot{At: time.Now()}
	for _, r := range rs {
		if r.Capacity != nil {
			s.Replicas = append(s.Replicas, orchestrator.ReplicaCapacity{Replica: r.Replica, Capacity: *r.Capacity})
		}
	}
	for _, l := range c.levels {
		cons, err := c.js.Consumer(ctx, wire.ChangesStream, l.consumer)
		if err != nil {
			return orchestrator.ClusterSnapshot{}, fmt.Errorf("consumer %s: %w", l.consumer, err)
		}
		info := cons.CachedInfo()
		s.Levels = append(s.Levels, orchestrator.LevelPending{Priority: l.priority,
			Pending: bus.Backlog(info)})
	}
	return s, nil
}

// startCluster starts contending for the leadership lease and returns
// the cluster view over it. The lease's TTL is the bucket's.
func (s *Service) startCluster(ctx context.Context) (*clusterView, error) {
	kv, err := s.js.KeyValue(ctx, wire.LeaderBucket)
	if err != nil {
		return nil, fmt.Errorf("leader bucket: %w", err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("leader bucket: %w", err)
	}
	s.lease = lease.New(kv, lease.Config{Holder: s.cfg.Orchestrator.Replica, TTL: st.TTL(), Logger: s.log})
	s.lease.Start(context.WithoutCancel(ctx))
	cv := &clusterView{js: s.js, lease: s.lease}
	if !s.cfg.Orchestrator.PriorityLevels {
		cv.levels = []levelConsumer{{consumer: s.cfg.Consumer.Name}}
		return cv, nil
	}
	names := s.levels()
	for _, p := range orchestrator.Levels {
		cv.levels = append(cv.levels, levelConsumer{priority: p, consumer: names[p]})
	}
	return cv, nil
}

// stopLease releases the leadership lease, if contending.
func (s *Service) stopLease() {
	if s.lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaseStopTimeout)
	defer cancel()
	if err := s.lease.Stop(ctx); err != nil {
		s.log.Warn("leadership lease not released", slog.Any("error", err))
	}
}
