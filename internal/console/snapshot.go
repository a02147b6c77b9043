package console

import (
	"cmp"
	"slices"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/observe"
)

// rateWindow is the recent period the drain rate is measured over.
const rateWindow = time.Minute

// topN is how many templates, sources and targets the cost view lists.
const topN = 5

// Level is one priority level's consumer.
type Level struct {
	Priority wire.Priority `json:"priority"`
	Consumer string        `json:"consumer"`
	// Pending counts undelivered plus unacked messages.
	Pending    uint64     `json:"pending"`
	Paused     bool       `json:"paused"`
	PauseUntil *time.Time `json:"pause_until,omitempty"`
	// DrainS is the predicted time until this level and the ones above it
	// are drained at the recent rate (nil: nothing drains).
	DrainS *float64 `json:"drain_s,omitempty"`
}

// DLQCount is how many dead letters REGEN_DLQ holds.
type DLQCount struct {
	Msgs  uint64 `json:"msgs"`
	Bytes uint64 `json:"bytes"`
}

// Snapshot is the state the page shows, sent as one state message.
type Snapshot struct {
	Now           time.Time                 `json:"now"`
	BucketS       int64                     `json:"bucket_s"`
	Series        []Point                   `json:"series"`
	SuccessRate   *float64                  `json:"success_rate,omitempty"`
	WindowEvents  int                       `json:"window_events"`
	RatePerS      float64                   `json:"rate_per_s"`
	Replicas      []observe.ReplicaStats    `json:"replicas"`
	Totals        observe.Totals            `json:"totals"`
	Breakers      map[string]map[string]int `json:"breakers"`
	Levels        []Level                   `json:"levels"`
	Pending       uint64                    `json:"pending"`
	DrainS        *float64                  `json:"drain_s,omitempty"`
	Advice        *Advice                   `json:"advice,omitempty"`
	Cost          *CostView                 `json:"cost,omitempty"`
	DLQ           *DLQCount                 `json:"dlq,omitempty"`
	DeploySeq     uint64                    `json:"deploy_seq"`
	FeedSeq       uint64                    `json:"feed_seq"`
	TokenRequired bool                      `json:"token_required"`
	Errors        map[string]string         `json:"errors,omitempty"`
}

// snapshot builds the Snapshot at now.
func (s *state) snapshot(now time.Time) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Now: now, BucketS: s.series.width, Series: s.series.points(now), Replicas: s.poll.replicas,
		Totals: observe.Sum(s.poll.replicas), Breakers: breakers(s.poll.replicas), DLQ: s.poll.dlq,
		Advice: s.advice, DeploySeq: s.deploys.seq, FeedSeq: s.feed.seq, TokenRequired: s.cfg.Token != "",
		Errors: s.poll.errs, Cost: costView(s.costs.newest(0, func(c costItem) bool { return now.Sub(c.At) <= s.cfg.Window }))}
	ok, bad, events := s.series.outcomes(now, s.cfg.Window)
	snap.WindowEvents = events
	if ok+bad > 0 {
		r := float64(ok) / float64(ok+bad)
		snap.SuccessRate = &r
	}
	_, _, recent := s.series.outcomes(now, rateWindow)
	snap.RatePerS = float64(recent) / rateWindow.Seconds()
	snap.Levels, snap.Pending, snap.DrainS = drain(s.poll.levels, snap.RatePerS)
	if snap.Replicas == nil {
		snap.Replicas = []observe.ReplicaStats{}
	}
	return snap
}

// drain fills each level's predicted drain time at rate (levels in
// priority order: a level drains after the ones above it) and returns
// the levels, the total pending and its drain time.
func drain(levels []Level, rate float64) ([]Level, uint64, *float64) {
	out := slices.Clone(levels)
	var total uint64
	for i := range out {
		total += out[i].Pending
		if rate > 0 {
			d := float64(total) / rate
			out[i].DrainS = &d
		}
	}
	if rate <= 0 {
		return out, total, nil
	}
	d := float64(total) / rate
	return out, total, &d
}

// breakers counts, per component, the replicas in each circuit state.
func breakers(rs []observe.ReplicaStats) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, r := range rs {
		for comp, st := range r.Breakers {
			if out[comp] == nil {
				out[comp] = map[string]int{}
			}
			out[comp][st]++
		}
	}
	return out
}

// CostView is the cost of the window's cost reports: totals, and the top
// templates, sources and targets by CPU and by bytes deployed.
type CostView struct {
	Reports int             `json:"reports"`
	Total   wire.CostTotals `json:"total"`
	// ByCPU and ByBytes map "template", "source" and "target" to their
	// top entries.
	ByCPU   map[string][]CostEntry `json:"by_cpu"`
	ByBytes map[string][]CostEntry `json:"by_bytes"`
}

// CostEntry is one template, source or target and what it cost.
type CostEntry struct {
	Name string `json:"name"`
	wire.CostTotals
}

// costView sums reports (nil when there are none).
func costView(reports []costItem) *CostView {
	if len(reports) == 0 {
		return nil
	}
	v := &CostView{Reports: len(reports), ByCPU: map[string][]CostEntry{}, ByBytes: map[string][]CostEntry{}}
	sums := map[string]map[string]wire.CostTotals{"template": {}, "source": {}, "target": {}}
	for _, r := range reports {
		v.Total.Add(r.Data.Total)
		addAll(sums["template"], r.Data.ByTemplate)
		addAll(sums["source"], r.Data.BySource)
		addAll(sums["target"], r.Data.ByTarget)
	}
	for dim, m := range sums {
		v.ByCPU[dim] = top(m, func(t wire.CostTotals) float64 { return t.CPUSeconds })
		v.ByBytes[dim] = top(m, func(t wire.CostTotals) float64 { return float64(t.BytesOut) })
	}
	return v
}

func addAll(dst, src map[string]wire.CostTotals) {
	for k, t := range src {
		sum := dst[k]
		sum.Add(t)
		sum.StageSeconds = nil
		dst[k] = sum
	}
}

// top returns the topN entries of m by key, largest first (ties by name).
func top(m map[string]wire.CostTotals, key func(wire.CostTotals) float64) []CostEntry {
	out := make([]CostEntry, 0, len(m))
	for name, t := range m {
		out = append(out, CostEntry{Name: name, CostTotals: t})
	}
	slices.SortFunc(out, func(a, b CostEntry) int {
		return cmp.Or(cmp.Compare(key(b.CostTotals), key(a.CostTotals)), cmp.Compare(a.Name, b.Name))
	})
	return out[:min(len(out), topN)]
}
