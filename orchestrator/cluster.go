package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/regen-dev/regen/bus/wire"
)

// Cluster is the view of the whole cluster that the cluster scaling
// advice is computed from (internal/app's reads the REGEN_REPLICAS
// registry, the level consumers and the leadership lease). Its methods
// are called from the health loop.
type Cluster interface {
	// Leader reports whether this replica holds the leadership lease
	// now: only the leader publishes the advice.
	Leader() bool
	// Snapshot reads every live replica's Capacity and each priority
	// level's pending count, within ctx.
	Snapshot(ctx context.Context) (ClusterSnapshot, error)
}

// capacityTracker keeps this replica's Capacity between health checks.
// Its mutex also covers taking a cost report, so that Capacity never
// sees the report's events twice or not at all.
type capacityTracker struct {
	mu       sync.Mutex
	drain    float64
	busy     float64
	finished map[wire.Priority]int64 // events of the reports taken so far
	bound    string
}

// report takes the interval's cost report and adds its events to the
// finished counts.
func (c *capacityTracker) report(take func() wire.CostReportData) wire.CostReportData {
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := take()
	c.finished = addPriorityEvents(c.finished, rep.ByPriority)
	return rep
}

// addPriorityEvents adds the events of by (priority → totals) to to.
func addPriorityEvents(to map[wire.Priority]int64, by map[string]wire.CostTotals) map[wire.Priority]int64 {
	if to == nil {
		to = map[wire.Priority]int64{}
	}
	for p, t := range by {
		if wire.Priority(p).Valid() {
			to[wire.Priority(p)] += t.Events
		}
	}
	return to
}

// interval records one health interval's window and bound.
func (c *capacityTracker) interval(w windowStats, bound string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w.Removed > 0 && w.Busy > 0 {
		c.drain = float64(w.Removed) / w.Busy.Seconds()
	}
	c.busy = 0
	if w.Span > 0 {
		c.busy = min(1, w.Busy.Seconds()/w.Span.Seconds())
	}
	c.bound = bound
}

// get is the Capacity, the finished counts including live (the events
// per priority since the last report).
func (c *capacityTracker) get(live func() map[string]int64) Capacity {
	c.mu.Lock()
	defer c.mu.Unlock()
	finished := maps.Clone(c.finished)
	for p, n := range live() {
		if wire.Priority(p).Valid() {
			if finished == nil {
				finished = map[wire.Priority]int64{}
			}
			finished[wire.Priority(p)] += n
		}
	}
	return Capacity{DrainRate: c.drain, BusyFraction: c.busy, Finished: finished, Bound: c.bound}
}

// Capacity is this replica's draining: its rates as of its last health
// check, the events it finished up to now. For the registry that the
// leader's cluster advice reads; safe from any goroutine.
func (o *Orchestrator) Capacity() Capacity { return o.capacity.get(o.cost.PriorityEvents) }

// advise publishes the scaling advice of one health check: with a
// Cluster, the cluster's (by the leader only); without, this replica's.
func (o *Orchestrator) advise(ctx context.Context, h *healthState, w windowStats, pending uint64, pendingKnown bool,
	bound, reason string) {
	if o.deps.Cluster == nil {
		if pendingKnown && h.pendingKnown {
			o.adviseScaling(w, pending, h.prevPending, bound, reason)
		}
		return
	}
	if h.cluster == nil {
		h.cluster = newClusterAdvisor(o.cfg.TargetCycle, o.cfg.ScaleHorizon(), o.cfg.HealthCheckInterval)
	}
	if err := o.adviseCluster(ctx, h.cluster); err != nil && ctx.Err() == nil {
		o.log.WarnContext(ctx, "no cluster scaling advice", slog.Any("error", err))
	}
}

// adviseCluster reads the cluster into the advisor (every replica does,
// so that a new leader's forecast is warm) and, on the leader, publishes
// the advice.
func (o *Orchestrator) adviseCluster(ctx context.Context, adv *clusterAdvisor) error {
	sctx, cancel := context.WithTimeout(ctx, min(o.cfg.HealthCheckInterval/2, pendingTimeoutMax))
	defer cancel()
	s, err := o.deps.Cluster.Snapshot(sctx)
	if err != nil {
		return fmt.Errorf("cluster snapshot: %w", err)
	}
	a, ok := adv.observe(s)
	if !ok || !o.deps.Cluster.Leader() {
		return nil
	}
	o.log.InfoContext(ctx, "cluster scaling advice", slog.Int("recommended_replicas", a.Recommended),
		slog.Int("current_replicas", a.Current), slog.Uint64("pending", a.Pending),
		slog.Float64("forecast_arrival_rate", a.Forecast.ArrivalRate), slog.String("reason", a.Reason),
		slog.String("bound", a.Bound))
	o.publish(a.telemetry())
	return nil
}
