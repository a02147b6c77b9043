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

// publish sends one telemetry event from the orchestrator, of the type of
// its data; a failure is logged, never returned: telemetry must not stop
// the work.
func (o *Orchestrator) publish(data wire.TelemetryPayload) { o.publishTraced("", data) }

// publishTraced publishes data as publish does, in the trace traceID (""
// for none).
func (o *Orchestrator) publishTraced(traceID string, data wire.TelemetryPayload) {
	t := data.TelemetryType()
	ev := wire.TelemetryEvent{Type: t, Component: "orchestrator", Replica: o.cfg.Replica, TraceID: traceID, Data: data}
	if err := o.deps.Telemetry.Publish(ev); err != nil {
		o.log.Warn("telemetry publish failed", slog.String("type", string(t)), slog.Any("error", err))
	}
}

// publishFinal reports the totals when the orchestrator stops.
func (o *Orchestrator) publishFinal() {
	o.publish(finalData(o.stats.snapshot()))
}

// finalData is the last regeneration_completed's data: the totals.
func finalData(s OrchestrationStats) wire.RegenerationFinalData {
	return wire.RegenerationFinalData{Final: true, TotalCycles: s.TotalCycles, AvgCycleTimeMS: s.AvgCycleTimeMS,
		EventsProcessed: s.EventsProcessed, RegenerationsTriggered: s.RegenerationsTriggered,
		DeploymentsCompleted: s.DeploymentsCompleted, Failures: s.Failures, Skipped: s.Skipped,
		Rejected: s.Rejected, Deferred: s.Deferred, DeadLettered: s.DeadLettered}
}

// startedData is regeneration_started's data: the settings of cfg.
func startedData(cfg Config) wire.RegenerationStartedData {
	return wire.RegenerationStartedData{MaxConcurrent: cfg.MaxConcurrent, BatchSize: cfg.BatchSize,
		Autonomous: cfg.Autonomous, TargetCycleMS: cfg.TargetCycle.Milliseconds()}
}
