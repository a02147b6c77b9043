package orchestrator

import (
	"errors"
	"fmt"
	"math"

	"github.com/regen-dev/regen/bus/wire"
)

// Levels are the priority levels, highest first; a Scheduler's quotas
// and a PrioritySource's levels are indexed in this order.
var Levels = [...]wire.Priority{wire.PriorityCritical, wire.PriorityHigh, wire.PriorityNormal, wire.PriorityLow}

// Defaults of PriorityConfig.
const (
	// AgingCyclesDefault is the default PriorityConfig.AgingCycles (K).
	AgingCyclesDefault = 4
)

// PriorityWeightsDefault are the default weights (8:4:2:1).
func PriorityWeightsDefault() map[wire.Priority]int {
	return map[wire.Priority]int{wire.PriorityCritical: 8, wire.PriorityHigh: 4, wire.PriorityNormal: 2,
		wire.PriorityLow: 1}
}

// PriorityConfig is the policy of the scheduler across priority levels.
// The zero value is weighted 8:4:2:1 with aging after 4 cycles.
type PriorityConfig struct {
	// Weights are the levels' shares of the slots of a saturated replica
	// (PriorityWeightsDefault, 8:4:2:1); a level left out keeps its
	// default. Each must be at least 1.
	Weights map[wire.Priority]int `yaml:"priority_weights" json:"priority_weights"`
	// Strict gives every slot to the highest level with events, the lower
	// ones getting only what aging gives them.
	Strict bool `yaml:"priority_strict" json:"priority_strict"`
	// AgingCycles is K: a level with events that got no slot for K-1
	// consecutive fetches gets one in the K-th, so under saturation its
	// oldest event waits at most K fetch cycles (4). The bound holds
	// when a fetch asks for at least len(Levels) messages.
	AgingCycles int `yaml:"priority_aging" json:"priority_aging"`
}

// WithDefaults fills zero fields with their defaults.
func (c PriorityConfig) WithDefaults() PriorityConfig {
	w := PriorityWeightsDefault()
	for p, n := range c.Weights {
		w[p] = n
	}
	c.Weights = w
	if c.AgingCycles == 0 {
		c.AgingCycles = AgingCyclesDefault
	}
	return c
}

// Validate reports every invalid field at once, named as in the config
// file.
func (c PriorityConfig) Validate() error {
	var errs []error
	for p, n := range c.Weights {
		if !p.Valid() {
			errs = append(errs, fmt.Errorf("priority_weights: unknown priority %q (want critical, high, normal or low)", p))
		} else if n < 1 {
			errs = append(errs, fmt.Errorf("priority_weights.%s: must be at least 1, got %d", p, n))
		}
	}
	if c.AgingCycles < 0 {
		errs = append(errs, fmt.Errorf("priority_aging: must be at least 1 (0: default), got %d", c.AgingCycles))
	}
	return errors.Join(errs...)
}

// Unknown is a backlog the scheduler does not know: as much as it asks.
const Unknown = math.MaxUint64

// Scheduler splits the slots of each fetch across the priority levels: by
// weight with smooth weighted round robin (each level's credit grows by
// its weight per slot and the level with most credit takes the slot, so
// over any run of sum(weights) slots each busy level gets exactly its
// weight), or strictly by level, and in both with aging. It is not safe
// for concurrent use.
type Scheduler struct {
	cfg     PriorityConfig
	weight  [len(Levels)]int
	credit  [len(Levels)]int
	starved [len(Levels)]int // consecutive Splits with a backlog and no slot
}

// NewScheduler validates cfg (after defaults) and returns its scheduler.
func NewScheduler(cfg PriorityConfig) (*Scheduler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg}
	for i, p := range Levels {
		s.weight[i] = cfg.Weights[p]
	}
	return s, nil
}

// Split shares n slots across the levels, each getting at most its
// backlog (Unknown: no cap); the quotas are indexed like Levels and sum
// to at most n. Slots a level cannot use go to the others.
func (s *Scheduler) Split(n int, backlog [len(Levels)]uint64) [len(Levels)]int {
	var q [len(Levels)]int
	if s.cfg.Strict {
		s.strict(n, backlog, &q)
	} else {
		s.weighted(n, backlog, &q)
	}
	s.age(n, backlog, &q)
	return q
}

// weighted gives the slots one by one by smooth weighted round robin.
func (s *Scheduler) weighted(n int, backlog [len(Levels)]uint64, q *[len(Levels)]int) {
	for range n {
		best, total := -1, 0
		for i := range Levels {
			if uint64(q[i]) >= backlog[i] {
				continue
			}
			s.credit[i] += s.weight[i]
			total += s.weight[i]
			if best < 0 || s.credit[i] > s.credit[best] {
				best = i
			}
		}
		if best < 0 {
			return
		}
		s.credit[best] -= total
		q[best]++
	}
}

// strict fills the levels in order.
func (s *Scheduler) strict(n int, backlog [len(Levels)]uint64, q *[len(Levels)]int) {
	for i := range Levels {
		take := min(uint64(n), backlog[i])
		q[i] = int(take)
		n -= int(take)
	}
}

// age gives one slot to each level that has waited AgingCycles-1 Splits,
// taken from the level with the largest quota, and counts the waits.
func (s *Scheduler) age(n int, backlog [len(Levels)]uint64, q *[len(Levels)]int) {
	for i := range Levels {
		if backlog[i] == 0 || q[i] > 0 {
			s.starved[i] = 0
			continue
		}
		if s.starved[i]+1 >= s.cfg.AgingCycles && n > 0 {
			if donor := largest(q); q[donor] > 1 || sum(q) < n {
				if sum(q) >= n {
					q[donor]--
				}
				q[i] = 1
				s.starved[i] = 0
				continue
			}
		}
		s.starved[i]++
	}
}

func largest(q *[len(Levels)]int) int {
	best := 0
	for i := range q {
		if q[i] > q[best] {
			best = i
		}
	}
	return best
}

func sum(q *[len(Levels)]int) int {
	t := 0
	for _, v := range q {
		t += v
	}
	return t
}
