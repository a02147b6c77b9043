package orchestrator

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// fakeCluster snapshots the orchestrators in replicas (set after New),
// all on one source's pending count.
type fakeCluster struct {
	src      *streamSource
	replicas []*Orchestrator
}

func (c *fakeCluster) Snapshot(ctx context.Context) (ClusterSnapshot, error) {
	n, err := c.src.Pending(ctx)
	if err != nil {
		return ClusterSnapshot{}, err
	}
	s := ClusterSnapshot{At: time.Now(), Levels: []LevelPending{{Priority: wire.PriorityNormal, Pending: n}}}
	for _, o := range c.replicas {
		s.Replicas = append(s.Replicas, ReplicaCapacity{Replica: o.cfg.Replica, Capacity: o.Capacity()})
	}
	return s, nil
}

// Two replicas share a cluster view: only the leader publishes
// scaling_advice, with scope cluster, and nobody publishes its own.
func TestHealthClusterAdviceOnlyFromTheLeader(t *testing.T) {
	t.Parallel()
	src := &streamSource{}
	src.growth.Store(1_000_000)
	cl := &fakeCluster{src: src}
	tels := []*fakeTelemetry{{}, {}}
	for i, tel := range tels {
		cfg := healthCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize, c.Replica = 2, 4, []string{"a", "b"}[i] })
		o, err := New(cfg, Deps{Source: src, Engine: &loadEngine{}, Deployer: nopDeployer{}, Telemetry: tel,
			Cluster: leaderIf(cl, i == 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		cl.replicas = append(cl.replicas, o)
		t.Cleanup(func() { _ = o.Stop(context.Background()) })
	}
	for _, o := range cl.replicas {
		if err := o.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, waitLimit, "cluster advice", func() bool { return len(tels[0].ofType(wire.ScalingAdvice)) > 1 })
	testkit.WaitFor(t, waitLimit, "health checks on b", func() bool { return len(tels[1].ofType(wire.PerformanceMetric)) > 5 })
	d := tels[0].ofType(wire.ScalingAdvice)[1].Data.(wire.ScalingAdviceData)
	if d.Scope != wire.AdviceScopeCluster || d.CurrentReplicasEstimate != 2 || d.Forecast == nil || len(d.Levels) != 1 {
		t.Fatalf("leader's advice %+v", d)
	}
	if n := len(tels[1].ofType(wire.ScalingAdvice)); n != 0 {
		t.Fatalf("the follower published %d scaling_advice", n)
	}
	if c := cl.replicas[1].Capacity(); c.DrainRate <= 0 || c.Finished[wire.PriorityNormal] <= 0 {
		t.Fatalf("follower capacity %+v, want a drain rate and events finished at level normal", c)
	}
}

// leaderCluster is a fakeCluster whose Leader is fixed.
type leaderCluster struct {
	*fakeCluster
	leader bool
}

func (c leaderCluster) Leader() bool { return c.leader }

func leaderIf(c *fakeCluster, leader bool) Cluster { return leaderCluster{c, leader} }
