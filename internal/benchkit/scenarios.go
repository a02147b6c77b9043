package benchkit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/regen-dev/regen/orchestrator"
)

// overhead interleaves Rounds pairs of (plain loop, regen no-op) drains of
// the same backlog and keeps the median of the per-pair ratios: adjacent
// runs share the machine's mood. Which side runs first alternates from
// pair to pair, so neither always gets the later (or earlier) minute.
func (s *suite) overhead(ctx context.Context) error {
	z := s.cfg.Sizes
	d := &s.rep.Detail
	n := wholeBatches(z.NoopEvents, z.NoopBatch)
	d.NoopEvents, d.NoopConcurrency, d.NoopBatch = n, z.NoopConcurrency, z.NoopBatch
	for round := range z.Rounds {
		base, regen, err := s.overheadPair(ctx, n, round%2 == 1)
		if err != nil {
			return err
		}
		d.BaselineEventsPerS = append(d.BaselineEventsPerS, base)
		d.RegenNoopEventsPerS = append(d.RegenNoopEventsPerS, regen)
		d.OverheadRatios = append(d.OverheadRatios, regen/base)
		s.progress("overhead round %d: loop %.0f/s, regen %.0f/s, ratio %.3f", round+1, base, regen, regen/base)
	}
	s.rep.OverheadRatio = median(d.OverheadRatios)
	r, err := s.env.runRegen(ctx, s.cfg.Logger, regenSpec{events: n, concurrency: z.NoopConcurrency,
		batch: z.NoopBatch, fetchWait: z.FetchWait, asyncAck: true})
	if err != nil {
		return err
	}
	d.RegenNoopAsyncAckEventsPerS = r.eventsPerS
	s.progress("overhead: regen with unconfirmed acks %.0f/s (context only)", r.eventsPerS)
	return nil
}

// overheadPair drains the backlog with the plain loop and with regen (in
// that order, or the other with regenFirst) and returns both rates.
func (s *suite) overheadPair(ctx context.Context, n int, regenFirst bool) (base, regen float64, err error) {
	z := s.cfg.Sizes
	runs := []func() error{
		func() (err error) { base, err = s.env.runBaseline(ctx, n, z.NoopBatch); return err },
		func() error {
			r, err := s.env.runRegen(ctx, s.cfg.Logger, regenSpec{events: n,
				concurrency: z.NoopConcurrency, batch: z.NoopBatch, fetchWait: z.FetchWait})
			regen = r.eventsPerS
			return err
		},
	}
	if regenFirst {
		runs[0], runs[1] = runs[1], runs[0]
	}
	for _, run := range runs {
		if err := run(); err != nil {
			return 0, 0, err
		}
	}
	return base, regen, nil
}

// efficiency drains, per concurrency, a backlog sized to take about
// EfficiencySeconds at the ideal rate, with the IOWork engine.
func (s *suite) efficiency(ctx context.Context) error {
	z := s.cfg.Sizes
	ideal := float64(time.Second) / float64(z.IOWork)
	s.rep.Efficiency = map[string]float64{}
	s.rep.Detail.EfficiencyEventsPerS = map[string]float64{}
	s.rep.Detail.EfficiencyEvents = map[string]int{}
	for _, c := range z.Concurrencies {
		batch := max(2*c, 16) // the default batch size for c
		n := wholeBatches(max(int(z.EfficiencySeconds*float64(c)*ideal), z.EfficiencyMinEvents), batch)
		r, err := s.env.runRegen(ctx, s.cfg.Logger, regenSpec{events: n, concurrency: c,
			batch: batch, work: z.IOWork, fetchWait: z.FetchWait})
		if err != nil {
			return fmt.Errorf("efficiency at %d: %w", c, err)
		}
		key := strconv.Itoa(c)
		s.rep.Efficiency[key] = r.eventsPerS / (float64(c) * ideal)
		s.rep.Detail.EfficiencyEventsPerS[key] = r.eventsPerS
		s.rep.Detail.EfficiencyEvents[key] = n
		s.progress("efficiency at %d: %.0f/s of %.0f ideal (%.3f)", c, r.eventsPerS, float64(c)*ideal, s.rep.Efficiency[key])
	}
	return nil
}

// cycles times cycles of CycleSmall and CycleLarge events (batch = cycle
// size) with the CycleWork engine.
func (s *suite) cycles(ctx context.Context) error {
	z := s.cfg.Sizes
	for _, c := range []struct {
		size, count int
		out         *CycleStats
		p95         *float64
	}{{z.CycleSmall, z.Cycles1k, &s.rep.Detail.Cycles1000, &s.rep.P95CycleMS1000},
		{z.CycleLarge, z.Cycles10k, &s.rep.Detail.Cycles10000, &s.rep.P95CycleMS10000}} {
		r, err := s.env.runRegen(ctx, s.cfg.Logger, regenSpec{events: c.size * c.count,
			concurrency: z.CycleConcurrency, batch: c.size, work: z.CycleWork, fetchWait: z.FetchWait})
		if err != nil {
			return fmt.Errorf("cycles of %d: %w", c.size, err)
		}
		*c.out = cycleStats(r.cycles, c.size)
		*c.p95 = c.out.P95MS
		s.progress("cycles of %d: %d cycles, p50 %.1fms, p95 %.1fms", c.size, c.out.Cycles, c.out.P50MS, c.out.P95MS)
	}
	return nil
}

func cycleStats(pes []orchestrator.ParallelExecution, size int) CycleStats {
	ms := make([]float64, 0, len(pes))
	cs := CycleStats{EventsEach: size}
	for _, pe := range pes {
		ms = append(ms, pe.DurationMS)
		cs.Parallelism = max(cs.Parallelism, pe.AchievedParallelism)
	}
	cs.Cycles = len(ms)
	cs.P50MS, cs.P95MS = percentile(ms, 0.50), percentile(ms, 0.95)
	if len(ms) > 0 {
		cs.MaxMS = slices.Max(ms)
	}
	return cs
}

// percentile is the nearest-rank percentile of xs (0 when empty).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(xs []float64) float64 { return percentile(xs, 0.5) }
