package orchestrator

import (
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

var saturated = [len(Levels)]uint64{Unknown, Unknown, Unknown, Unknown}

func newSched(t *testing.T, cfg PriorityConfig) *Scheduler {
	t.Helper()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Under saturation each level's share of the slots is within 10% of its
// weight's share, for several batch sizes (small ones included, where a
// single fetch cannot hold every weight).
func TestSchedulerWeightedShares(t *testing.T) {
	t.Parallel()
	for _, cfg := range []PriorityConfig{{}, {Weights: map[wire.Priority]int{wire.PriorityCritical: 1,
		wire.PriorityHigh: 1, wire.PriorityNormal: 5, wire.PriorityLow: 3}}} {
		for _, n := range []int{1, 4, 7, 64, 500} {
			s := newSched(t, cfg)
			var got [len(Levels)]int
			for range 3000 {
				q := s.Split(n, saturated)
				if sum(&q) != n {
					t.Fatalf("n=%d: quotas %v do not fill the fetch", n, q)
				}
				for i := range q {
					got[i] += q[i]
				}
			}
			checkShares(t, s, n, got)
		}
	}
}

func checkShares(t *testing.T, s *Scheduler, n int, got [len(Levels)]int) {
	t.Helper()
	total, wsum := sum(&got), 0
	for _, w := range s.weight {
		wsum += w
	}
	for i, p := range Levels {
		want := float64(s.weight[i]) / float64(wsum)
		share := float64(got[i]) / float64(total)
		if share < want*0.9 || share > want*1.1 {
			t.Errorf("n=%d %s: share %.3f, want %.3f ±10%%", n, p, share, want)
		}
	}
}

// A level with a small backlog takes only that; the rest goes to others.
func TestSchedulerWorkConserving(t *testing.T) {
	t.Parallel()
	s := newSched(t, PriorityConfig{})
	q := s.Split(100, [len(Levels)]uint64{3, 0, Unknown, 0})
	if q != [len(Levels)]int{3, 0, 97, 0} {
		t.Fatalf("quotas %v", q)
	}
	strict := newSched(t, PriorityConfig{Strict: true})
	if q := strict.Split(10, [len(Levels)]uint64{4, 0, 3, Unknown}); q != [len(Levels)]int{4, 0, 3, 3} {
		t.Fatalf("strict quotas %v", q)
	}
}

// Strict order starves lower levels except through aging: under
// saturation a low event waits at most K (AgingCycles) fetch cycles.
func TestSchedulerAgingBound(t *testing.T) {
	t.Parallel()
	for _, cfg := range []PriorityConfig{{Strict: true}, {Strict: true, AgingCycles: 7}, {AgingCycles: 3}} {
		s := newSched(t, cfg)
		k := s.cfg.AgingCycles
		var since [len(Levels)]int
		for cycle := range 1000 {
			q := s.Split(len(Levels), saturated)
			for i := range Levels {
				since[i]++
				if q[i] > 0 {
					since[i] = 0
				}
				if since[i] >= k {
					t.Fatalf("%+v: %s waited %d cycles at cycle %d, bound K=%d", cfg, Levels[i], since[i], cycle, k)
				}
			}
		}
	}
}

// Strict gives the top level everything it can use (aging aside).
func TestSchedulerStrict(t *testing.T) {
	t.Parallel()
	s := newSched(t, PriorityConfig{Strict: true})
	if q := s.Split(64, saturated); q != [len(Levels)]int{64, 0, 0, 0} {
		t.Fatalf("quotas %v", q)
	}
}

func TestPriorityConfigValidate(t *testing.T) {
	t.Parallel()
	err := PriorityConfig{Weights: map[wire.Priority]int{"urgent": 2, wire.PriorityLow: 0},
		AgingCycles: -1}.Validate()
	for _, want := range []string{`priority_weights: unknown priority "urgent"`, "priority_weights.low: must be at least 1",
		"priority_aging"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
	if _, err := NewScheduler(PriorityConfig{Weights: map[wire.Priority]int{wire.PriorityHigh: 3}}); err != nil {
		t.Fatal(err)
	}
}
