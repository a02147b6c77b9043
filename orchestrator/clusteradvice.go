package orchestrator

import (
	"math"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/forecast"
)

// Cluster scaling advice reasons (beside adviceBacklogGrowing and
// adviceDrainTooSlow).
const (
	// adviceForecast: the backlog is fine now, but the arrivals forecast
	// at the horizon exceed what the replicas drain.
	adviceForecast = "forecast_exceeds_capacity"
	// adviceSufficient: the replicas absorb the arrivals forecast and
	// drain the backlog within the target.
	adviceSufficient = "sufficient"
)

// Capacity is what one replica reports of its draining, for the leader's
// cluster advice (in its REGEN_REPLICAS snapshot). Updated every health
// interval.
type Capacity struct {
	// DrainRate is the events/s the replica removed from the stream while
	// in cycles, over the last health interval in which it removed any
	// (0 until then).
	DrainRate float64 `json:"drain_rate"`
	// BusyFraction is the share of the last health interval spent in cycles.
	BusyFraction float64 `json:"busy_fraction"`
	// Finished counts, per priority level, the events the replica
	// finished since it started (the cost accounting's count).
	Finished map[wire.Priority]int64 `json:"finished,omitempty"`
	// Bound is what bounded it over the last interval (cpu, rate_limit,
	// target; "" none).
	Bound string `json:"bound,omitempty"`
}

// ReplicaCapacity is one live replica's Capacity.
type ReplicaCapacity struct {
	Replica string
	Capacity
}

// LevelPending is one priority level's consumer pending count.
type LevelPending struct {
	Priority wire.Priority
	Pending  uint64
}

// ClusterSnapshot is the cluster at one instant: every live replica's
// capacity and each level's pending count, highest level first.
type ClusterSnapshot struct {
	At       time.Time
	Replicas []ReplicaCapacity
	Levels   []LevelPending
}

// clusterAdvisor turns successive cluster snapshots into cluster advice:
// it measures each level's arrival rate from two snapshots (pending
// change plus what the replicas finished in between) and forecasts it
// (forecast.Auto: Holt's linear trend, Holt-Winters once a daily season
// forecasts better).
// Not safe for concurrent use (the health loop owns it).
type clusterAdvisor struct {
	target, horizon time.Duration
	season          int // snapshots per day: Holt-Winters' season
	prev            *ClusterSnapshot
	levels          map[wire.Priority]*forecast.Auto
	total           *forecast.Auto
}

// The season of the forecasts is a day, of at most maxSeason snapshots
// (a shorter health interval forecasts with Holt alone: the memory of two
// days of readings per level is not worth it).
const (
	daySeason = 24 * time.Hour
	maxSeason = 4096
)

// newClusterAdvisor returns an advisor for snapshots every interval
// (Holt-Winters takes over from Holt when a daily pattern shows).
func newClusterAdvisor(target, horizon, interval time.Duration) *clusterAdvisor {
	season := int(daySeason / max(interval, time.Millisecond))
	if season > maxSeason {
		season = 0
	}
	return &clusterAdvisor{target: target, horizon: horizon, season: season,
		levels: map[wire.Priority]*forecast.Auto{}, total: forecast.NewAuto(forecast.Config{}, season)}
}

// observe takes the snapshot s and returns the advice for it; ok is false
// on the first snapshot (no rate yet) or when no replica has a drain
// rate yet.
func (c *clusterAdvisor) observe(s ClusterSnapshot) (clusterAdvice, bool) {
	prev := c.prev
	if prev != nil && !s.At.After(prev.At) {
		return clusterAdvice{}, false
	}
	c.prev = &s
	if prev == nil {
		return clusterAdvice{}, false
	}
	arrivals := c.arrivals(*prev, s)
	drain, perReplica := clusterDrain(s.Replicas)
	if perReplica <= 0 {
		return clusterAdvice{}, false
	}
	return c.advise(s, arrivals, drain, perReplica), true
}

// arrivals measures each level's arrival rate between a and b and feeds
// the forecasts: arrival = (pending − previous pending + finished) / dt.
func (c *clusterAdvisor) arrivals(a, b ClusterSnapshot) map[wire.Priority]float64 {
	dt := b.At.Sub(a.At).Seconds()
	finished := finishedBetween(a.Replicas, b.Replicas)
	prevPending := map[wire.Priority]uint64{}
	for _, l := range a.Levels {
		prevPending[l.Priority] = l.Pending
	}
	out := map[wire.Priority]float64{}
	var total float64
	for _, l := range b.Levels {
		rate := max(0, (float64(l.Pending)-float64(prevPending[l.Priority])+float64(finished[l.Priority]))/dt)
		out[l.Priority] = rate
		total += rate
		c.level(l.Priority).Observe(b.At, rate)
	}
	c.total.Observe(b.At, total)
	return out
}

func (c *clusterAdvisor) level(p wire.Priority) *forecast.Auto {
	h, ok := c.levels[p]
	if !ok {
		h = forecast.NewAuto(forecast.Config{}, c.season)
		c.levels[p] = h
	}
	return h
}

// finishedBetween sums per level what the replicas finished between
// snapshots a and b, and under "" (a level of no priority: the single
// consumer) over every level. A replica not in a counts from its first
// snapshot on; one whose count went down restarted and counts from zero.
func finishedBetween(a, b []ReplicaCapacity) map[wire.Priority]int64 {
	before := map[string]map[wire.Priority]int64{}
	for _, r := range a {
		before[r.Replica] = r.Finished
	}
	out := map[wire.Priority]int64{}
	for _, r := range b {
		was, seen := before[r.Replica]
		if !seen {
			continue
		}
		for p, n := range r.Finished {
			d := n - was[p]
			if d < 0 {
				d = n
			}
			out[p] += d
			out[""] += d
		}
	}
	return out
}

// clusterDrain is what the replicas drain together while busy and the
// mean per replica; a replica without a rate yet counts at the mean of
// those with one.
func clusterDrain(rs []ReplicaCapacity) (total, perReplica float64) {
	known := 0
	for _, r := range rs {
		if r.DrainRate > 0 {
			total += r.DrainRate
			known++
		}
	}
	if known == 0 {
		return 0, 0
	}
	perReplica = total / float64(known)
	return perReplica * float64(len(rs)), perReplica
}

// clusterAdvice is the leader's advice for the whole cluster.
type clusterAdvice struct {
	advice
	ClusterDrainRate float64
	Forecast         wire.ArrivalForecast
	Levels           []wire.LevelAdvice
}

// advise computes the advice from the measured arrivals and the drain
// rates:
//
//	recommended = ceil((forecast_arrival(horizon) + pending/target) / per_replica_drain)
//	drain_s     = pending / (cluster_drain − arrival)
//
// per level counting the levels above it, which are served first. Bound
// by a rate limit or a target, more replicas do not help, and the
// recommendation is the current count.
func (c *clusterAdvisor) advise(s ClusterSnapshot, arrivals map[wire.Priority]float64, drain, perReplica float64) clusterAdvice {
	a := clusterAdvice{ClusterDrainRate: drain, Forecast: c.forecast()}
	a.Current, a.DrainRate = len(s.Replicas), perReplica
	var smoothed float64
	a.Levels, a.Pending, smoothed = c.levelAdvice(s.Levels, drain)
	for _, l := range s.Levels {
		a.ArrivalRate += arrivals[l.Priority]
	}
	a.PredictedDrainS = math.Inf(1)
	if d := drainSeconds(a.Pending, drain, smoothed); d != nil {
		a.PredictedDrainS = *d
	}
	need := (a.Forecast.ArrivalRate + float64(a.Pending)/c.target.Seconds()) / perReplica
	a.Recommended = max(1, int(math.Ceil(need-1e-9)))
	a.Reason = c.reason(a.advice)
	return a.withClusterBound(s.Replicas)
}

// levelAdvice is each level's advice, highest first, its drain time
// counting the levels above it; and the total pending and smoothed
// arrival rate.
func (c *clusterAdvisor) levelAdvice(levels []LevelPending, drain float64) (out []wire.LevelAdvice, pending uint64,
	smoothed float64) {
	for _, l := range levels {
		h := c.level(l.Priority)
		pending += l.Pending
		now := max(0, h.Now())
		smoothed += now
		out = append(out, wire.LevelAdvice{Priority: l.Priority, Pending: l.Pending,
			ArrivalRate: now, ForecastRate: max(0, h.Forecast(c.horizon)),
			PredictedDrainS: drainSeconds(pending, drain, smoothed)})
	}
	return out, pending, smoothed
}

// forecast is the total arrival forecast at the horizon.
func (c *clusterAdvisor) forecast() wire.ArrivalForecast {
	e := c.total.Error()
	return wire.ArrivalForecast{ArrivalRate: max(0, c.total.Forecast(c.horizon)), Method: c.total.Method(),
		Level: c.total.Now(),
		Trend: c.total.Trend(), HorizonS: c.horizon.Seconds(), Error: e.MAE, ErrorRatio: e.WAPE, ErrorSamples: e.N}
}

// reason says why the advice recommends what it does.
func (c *clusterAdvisor) reason(a advice) string {
	switch {
	case math.IsInf(a.PredictedDrainS, 1):
		return adviceBacklogGrowing
	case a.PredictedDrainS > c.target.Seconds():
		return adviceDrainTooSlow
	case a.Recommended > a.Current:
		return adviceForecast
	}
	return adviceSufficient
}

// drainSeconds is pending / (drain − arrival), or nil when that does not
// drain (0 for nothing pending).
func drainSeconds(pending uint64, drain, arrival float64) *float64 {
	if pending == 0 {
		return new(float64)
	}
	net := drain - arrival
	if net <= 0 {
		return nil
	}
	d := float64(pending) / net
	return &d
}

// withClusterBound applies the bound most replicas report: bound by a
// rate limit or a slow target, more replicas would not help.
func (a clusterAdvice) withClusterBound(rs []ReplicaCapacity) clusterAdvice {
	counts := map[string]int{}
	for _, r := range rs {
		if r.Bound != "" {
			counts[r.Bound]++
		}
	}
	bound, most := "", 0
	for _, b := range []string{boundCPU, boundRateLimit, boundTarget} {
		if counts[b] > most {
			bound, most = b, counts[b]
		}
	}
	if bound == "" || 2*most < len(rs) {
		return a
	}
	reason := "most replicas are CPU-bound: more replicas help"
	if bound != boundCPU {
		reason = "most replicas are bound by " + bound + ": more replicas do not help"
	}
	a.advice = a.advice.withBound(bound, reason)
	return a
}

// telemetry is the scaling_advice data of the cluster advice.
func (a clusterAdvice) telemetry() wire.ScalingAdviceData {
	d := a.advice.telemetry()
	f := a.Forecast
	d.Scope, d.ClusterDrainRate, d.Forecast, d.Levels = wire.AdviceScopeCluster, a.ClusterDrainRate, &f, a.Levels
	return d
}
