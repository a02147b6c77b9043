package orchestrator

import (
	"context"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus"
)

// healthLoop runs a health check every HealthCheckInterval until Stop (or
// the end of a non-autonomous run). It never blocks cycles: it only reads
// snapshots, and a failing check (NATS away) is logged and skipped.
func (o *Orchestrator) healthLoop(r *run) {
	defer close(r.health)
	t := time.NewTicker(o.cfg.HealthCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-r.fetchCtx.Done():
			return
		case <-r.done:
			return
		case <-t.C:
			o.healthCheck(r.fetchCtx)
		}
	}
}

// healthCheck publishes one performance_metric.
func (o *Orchestrator) healthCheck(ctx context.Context) {
	s := o.stats.snapshot()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pending, err := o.deps.Source.Pending(pctx)
	if err != nil {
		o.log.Warn("health check: pending unknown", slog.Any("error", err))
	}
	o.publish(bus.PerformanceMetric, map[string]any{
		"total_cycles": s.TotalCycles, "avg_cycle_time_ms": s.AvgCycleTimeMS,
		"events_processed": s.EventsProcessed, "failures": s.Failures,
		"in_flight": o.InFlight(), "concurrency": o.Concurrency(), "batch_size": o.BatchSize(),
		"pending": pending, "breakers": o.Breakers()})
}
