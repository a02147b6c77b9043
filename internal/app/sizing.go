package app

import (
	"log/slog"

	"github.com/regen-dev/regen/orchestrator"
)

// warnSizing says at start when max_ack_pending cannot hold what one
// replica may keep unacked (orchestrator.MaxBatchesHeld batches at the
// tuner's largest): the server would then stall deliveries silently. With
// priority_levels the limit is per level's consumer, and one replica may
// hold that much of any one level, so the check is the same.
func (s *Service) warnSizing() {
	need := orchestrator.MaxBatchesHeld * s.orch.BatchAtTuneMax()
	if have := s.cfg.Consumer.MaxAckPending; have < need {
		s.log.Warn("consumer.max_ack_pending is below what one replica may hold unacked; deliveries will stall",
			slog.Int("max_ack_pending", have), slog.Int("per_replica", need),
			slog.String("fix", "raise consumer.max_ack_pending to replicas x per_replica, or lower tune_max / batch_size"))
		return
	}
	s.log.Info("consumer sizing", slog.Int("max_ack_pending", s.cfg.Consumer.MaxAckPending),
		slog.Int("consumers", len(s.consumers())),
		slog.Int("per_replica", need), slog.Int("replicas_that_fit", s.cfg.Consumer.MaxAckPending/need))
}
