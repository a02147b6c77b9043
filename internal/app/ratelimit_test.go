package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/ratelimit"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/orchestrator"
)

// rateWindow is how long each measurement of the cluster's rate lasts:
// long enough for the limiters' bursts and a 2-core machine's jitter to
// stay well inside the tolerance.
const rateWindow = 8 * time.Second

// eachDone is regenerated of each replica.
func eachDone(t *testing.T, svcs []*Service) []float64 {
	t.Helper()
	out := make([]float64, len(svcs))
	for i, s := range svcs {
		out[i] = regenerated(t, []*Service{s})
	}
	return out
}

// regenerated sums the events the replicas settled as done (succeeded or
// skipped), counted as each settles (regen_events_total; the stats count
// a cycle's events only once the cycle ends).
func regenerated(t *testing.T, svcs []*Service) float64 {
	t.Helper()
	var n float64
	for _, s := range svcs {
		n += counter(t, s, "regen_events_total", "succeeded") + counter(t, s, "regen_events_total", "skipped")
	}
	return n
}

// clusterRate measures the replicas' rate together over rateWindow.
func clusterRate(t *testing.T, svcs []*Service) float64 {
	t.Helper()
	start, before := time.Now(), eachDone(t, svcs)
	window := time.NewTimer(rateWindow) // the measurement window, not a synchronisation
	defer window.Stop()
	<-window.C
	after, d := eachDone(t, svcs), time.Since(start).Seconds()
	total := 0.0
	for i := range svcs {
		t.Logf("%s: %.1f events/s", svcs[i].cfg.Orchestrator.Replica, (after[i]-before[i])/d)
		total += after[i] - before[i]
	}
	return total / d
}

// shared waits until every replica's engine limiter holds its share of
// 100/s among n replicas.
func shared(t *testing.T, svcs []*Service, n int) {
	t.Helper()
	want := 100 / float64(n)
	testkit.WaitFor(t, 20*time.Second, fmt.Sprintf("each of %d replicas at %.1f/s", n, want), func() bool {
		for _, s := range svcs {
			if math.Abs(s.limits.Rate(ratelimit.Engine)-want) > 0.01 {
				return false
			}
		}
		return true
	})
}

// TestReplicasShareTheClusterRate is not parallel: it measures a rate,
// and the package's other tests would take the CPU the engines need to
// keep up with it (the parallel tests wait until it is done).
func TestReplicasShareTheClusterRate(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the rate over two 8s windows")
	}
	b := setup(t, func(c *config.Config) {
		c.RateLimits = config.RateLimits{ratelimit.Engine: "100/s"}
		c.StatsInterval = 250 * time.Millisecond
	})
	start := func(name string) *Service {
		b.cfg.Orchestrator.Replica = name
		return b.start(t)
	}
	svcs := []*Service{start("rate-a"), start("rate-b")}
	shared(t, svcs, 2)
	publish(t, b.js, syntheticNodes(2500))
	testkit.WaitFor(t, 20*time.Second, "the backlog flowing", func() bool { return regenerated(t, svcs) >= 50 })
	r := clusterRate(t, svcs)
	t.Logf("two replicas: %.1f events/s", r)
	if math.Abs(r-100) > 15 {
		t.Fatalf("two replicas at engine=100/s ran %.1f events/s together, want 100 ± 15", r)
	}
	svcs = append(svcs, start("rate-c"))
	shared(t, svcs, 3)
	r = clusterRate(t, svcs)
	t.Logf("three replicas: %.1f events/s", r)
	if math.Abs(r-100) > 15 {
		t.Fatalf("three replicas at engine=100/s ran %.1f events/s together, want 100 ± 15", r)
	}
	for _, s := range svcs {
		if st := s.Orchestrator().Stats(); st.Failures != 0 || st.DeadLettered != 0 {
			t.Fatalf("%s: rate-limited events failed: %+v", s.cfg.Orchestrator.Replica, st)
		}
	}
	if n := streamMsgs(t, b.js, wire.ChangesStream); n == 0 {
		t.Fatal("the backlog ran out during the measurement: publish more events")
	}
	if n := counter(t, svcs[0], "regen_rate_limited_total", ratelimit.Engine); n == 0 {
		t.Fatal(`regen_rate_limited_total{limit="engine"} is 0`)
	}
}

// counter reads the counter name{label=value} (its one label) of s.
func counter(t *testing.T, s *Service, name, value string) float64 {
	t.Helper()
	fams, err := s.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// countDeployer counts its deploys.
type countDeployer struct{ n int }

func (d *countDeployer) Deploy(context.Context, wire.Artifact) (bool, error) {
	d.n++
	return true, nil
}

func TestATargetLimitPacesOnlyItsTarget(t *testing.T) {
	t.Parallel()
	limited, free := config.Target{Kind: "dir", Arg: "./slow"}, config.Target{Kind: "dir", Arg: "./fast"}
	s := &Service{limits: ratelimit.New([]ratelimit.Limit{{Key: "target:dir:./slow", PerSecond: 0.1, Burst: 1}},
		ratelimit.Options{})}
	s.cfg.Orchestrator.EventTimeout = time.Second
	slow, fast := &countDeployer{}, &countDeployer{}
	ds, df := s.limitTarget(slow, limited), s.limitTarget(fast, free)
	if df != orchestrator.Deployer(fast) {
		t.Fatal("an unlimited target was wrapped")
	}
	ctx := context.Background()
	for range 3 {
		if _, err := df.Deploy(ctx, wire.Artifact{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ds.Deploy(ctx, wire.Artifact{}); err != nil {
		t.Fatalf("the burst token: %v", err)
	}
	_, err := ds.Deploy(ctx, wire.Artifact{})
	var rl *wire.RateLimitedError
	if !errors.As(err, &rl) || rl.Limit != "target:dir:./slow" || slow.n != 1 || fast.n != 3 {
		t.Fatalf("over the limit: %v (deploys %d, %d), want a RateLimitedError and no deploy", err, slow.n, fast.n)
	}
}

func TestATargetLimitReportsTheArtifactsEvent(t *testing.T) {
	t.Parallel()
	var got []ratelimit.Event
	s := &Service{limits: ratelimit.New([]ratelimit.Limit{{Key: "target:dir:./slow", PerSecond: 0.1, Burst: 1}},
		ratelimit.Options{OnLimited: func(ev ratelimit.Event) { got = append(got, ev) }})}
	s.cfg.Orchestrator.EventTimeout = time.Second
	d := s.limitTarget(&countDeployer{}, config.Target{Kind: "dir", Arg: "./slow"})
	a := wire.Artifact{EventID: "ev-7", ExecutionID: "x-7"}
	_, _ = d.Deploy(context.Background(), a)
	if _, err := d.Deploy(context.Background(), a); err == nil {
		t.Fatal("a second deploy within the limit's period was not limited")
	}
	want := ratelimit.Ref{EventID: "ev-7", ExecutionID: "x-7"}
	if len(got) != 1 || got[0].Ref != want || rateLimitedData(got[0]).EventID != "ev-7" || rateLimitedData(got[0]).ExecutionID != "x-7" {
		t.Fatalf("limited %+v, want one event of %+v", got, want)
	}
}
