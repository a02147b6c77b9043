package benchkit

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
)

// real drains a backlog end to end with a replica exactly as `regen run`
// builds it (graph engine over the example templates, dir deployer, KV
// model and ledger), every event a distinct node, so every event renders
// and deploys a file. It is context, not a target.
func (s *suite) real(ctx context.Context) error {
	n := s.cfg.Sizes.RealEvents
	if s.cfg.Templates == "" {
		s.rep.Errors["events_per_s_real"] = "no templates directory configured"
		return nil
	}
	if err := s.env.provision(ctx, 0); err != nil {
		return err
	}
	if err := s.env.fill(ctx, n, genNodes(n)); err != nil {
		return err
	}
	cfg := config.Default()
	cfg.NATS.URL, cfg.Templates = s.env.url(), s.cfg.Templates
	cfg.Deploy = []string{"dir:" + filepath.Join(s.env.dir, "out")}
	cfg.Orchestrator.Replica = "regen-bench-real"
	start := time.Now()
	svc, err := app.Start(ctx, cfg, s.cfg.Logger)
	if err != nil {
		return fmt.Errorf("bench real: %w", err)
	}
	werr := waitProcessed(ctx, svc, n)
	d := time.Since(start)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := svc.Stop(stopCtx); err != nil && werr == nil {
		werr = fmt.Errorf("bench real stop: %w", err)
	}
	if werr != nil {
		return werr
	}
	s.rep.EventsPerSReal = float64(n) / d.Seconds()
	s.rep.Detail.RealEvents = n
	s.progress("real: %d events in %.2fs (%.0f/s)", n, d.Seconds(), s.rep.EventsPerSReal)
	return nil
}

// waitProcessed polls the replica's stats until n events were processed
// without failure (a measurement, so polling every 5ms is fine).
func waitProcessed(ctx context.Context, svc *app.Service, n int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		st := svc.Orchestrator().Stats()
		if st.Failures > 0 {
			return fmt.Errorf("bench real: %d of %d events failed", st.Failures, st.EventsProcessed)
		}
		if st.EventsProcessed >= int64(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench real: %d of %d events: %w", st.EventsProcessed, n, ctx.Err())
		case <-t.C:
		}
	}
}
