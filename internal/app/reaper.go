package app

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/bus"
)

// startReaper starts one reaper per consumer (advisories and ack floors
// are per consumer). Each moves events whose deliveries ran out
// (MaxDeliver) to the DLQ, reporting each as event_rejected; the first
// also warns while the DLQ is near its limits (performance_alert
// dlq_near_limit) and, with priority_levels, dead-letters the events of an
// unknown priority, which no level consumer delivers.
func (s *Service) startReaper(ctx context.Context) error {
	for i, name := range s.consumers() {
		cfg := bus.ReaperConfig{Consumer: name, Logger: s.log, DeadLetters: s.deadLetters(),
			AlertRatio: s.cfg.DLQ.AlertRatio, OnReap: s.onReap}
		if i == 0 {
			cfg.OnDLQNearLimit, cfg.Strays = s.onDLQNearLimit, s.cfg.Orchestrator.PriorityLevels
		}
		r := bus.NewReaper(s.nc, s.js, cfg)
		if err := r.Start(ctx); err != nil {
			return err
		}
		s.reap = append(s.reap, r)
	}
	return nil
}

func (s *Service) onDLQNearLimit(u bus.DLQUsage) {
	if err := s.tel.Publish(bus.DLQNearLimitEvent(u, s.cfg.DLQ.AlertRatio)); err != nil {
		s.log.Warn("dlq alert telemetry", slog.Any("error", err))
	}
}

func (s *Service) onReap(seq uint64) {
	err := s.tel.Publish(wire.TelemetryEvent{Type: wire.EventRejected, Component: "reaper", Data: reapedData(seq)})
	if err != nil {
		s.log.Warn("reaper telemetry", slog.Any("error", err))
	}
}

func (s *Service) stopReaper() {
	for _, r := range s.reap {
		r.Stop()
	}
}

// reapedData is the event_rejected data of the event at stream sequence
// seq, whose deliveries ran out.
func reapedData(seq uint64) wire.EventReapedData {
	return wire.EventReapedData{Reason: wire.ReasonMaxDeliveries, Seq: seq}
}
