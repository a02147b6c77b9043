package orchestrator

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/bus/wire"
)

// discardTelemetry drops every event (the default when none is wired).
type discardTelemetry struct{}

func (discardTelemetry) Publish(wire.TelemetryEvent) error { return nil }
func (discardTelemetry) Flush(context.Context) error       { return nil }

// publish sends one telemetry event from the orchestrator; a failure is
// logged, never returned: telemetry must not stop the work.
func (o *Orchestrator) publish(t wire.TelemetryType, data map[string]any) {
	ev := wire.TelemetryEvent{Type: t, Component: "orchestrator", Replica: o.cfg.Replica, Data: data}
	if err := o.deps.Telemetry.Publish(ev); err != nil {
		o.log.Warn("telemetry publish failed", slog.String("type", string(t)), slog.Any("error", err))
	}
}

// publishFinal reports the totals when the orchestrator stops.
func (o *Orchestrator) publishFinal() {
	s := o.stats.snapshot()
	o.publish(wire.RegenerationCompleted, map[string]any{
		"final": true, "total_cycles": s.TotalCycles, "avg_cycle_time_ms": s.AvgCycleTimeMS,
		"events_processed": s.EventsProcessed, "regenerations_triggered": s.RegenerationsTriggered,
		"deployments_completed": s.DeploymentsCompleted, "failures": s.Failures, "skipped": s.Skipped,
		"rejected": s.Rejected, "deferred": s.Deferred, "dead_lettered": s.DeadLettered})
}
