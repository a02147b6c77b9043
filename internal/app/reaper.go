package app

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/bus"
)

// startReaper moves events whose deliveries ran out (MaxDeliver) to the
// DLQ, reporting each as event_rejected, and warns while the DLQ is near
// its limits (performance_alert dlq_near_limit).
func (s *Service) startReaper(ctx context.Context) error {
	s.reap = bus.NewReaper(s.nc, s.js, bus.ReaperConfig{Consumer: s.cfg.Consumer.Name, Logger: s.log,
		DeadLetters: s.deadLetters(), AlertRatio: s.cfg.DLQ.AlertRatio,
		OnDLQNearLimit: func(u bus.DLQUsage) {
			if err := s.tel.Publish(bus.DLQNearLimitEvent(u, s.cfg.DLQ.AlertRatio)); err != nil {
				s.log.Warn("dlq alert telemetry", slog.Any("error", err))
			}
		},
		OnReap: func(seq uint64) {
			err := s.tel.Publish(wire.TelemetryEvent{Type: wire.EventRejected, Component: "reaper",
				Data: reapedData(seq)})
			if err != nil {
				s.log.Warn("reaper telemetry", slog.Any("error", err))
			}
		}})
	return s.reap.Start(ctx)
}

func (s *Service) stopReaper() {
	if s.reap != nil {
		s.reap.Stop()
	}
}

// reapedData is the event_rejected data of the event at stream sequence
// seq, whose deliveries ran out.
func reapedData(seq uint64) wire.EventReapedData {
	return wire.EventReapedData{Reason: wire.ReasonMaxDeliveries, Seq: seq}
}
