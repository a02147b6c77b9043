package orchestrator

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// queueSim is a cluster draining one priority level: replicas of a fixed
// capacity (events/s while busy) take what is pending, arrivals follow
// rate(t). It yields the ClusterSnapshot a leader would read.
type queueSim struct {
	replicas int
	capacity float64                 // events/s per replica
	rate     func(t float64) float64 // arrivals/s at t seconds
	t        float64
	pending  float64
	finished float64 // cumulative, over all replicas
}

// advance runs the queue for d seconds in steps of at most 0.1s.
func (q *queueSim) advance(d float64) {
	for end := q.t + d; q.t < end-1e-9; {
		step := math.Min(0.1, end-q.t)
		in := q.rate(q.t+step/2) * step
		out := math.Min(q.pending+in, float64(q.replicas)*q.capacity*step)
		q.pending += in - out
		q.finished += out
		q.t += step
	}
}

// drainTime is how long the backlog takes to empty from now, measured by
// running a copy of the queue (+Inf beyond limit seconds).
func (q queueSim) drainTime(limit float64) float64 {
	start := q.t
	for q.pending > 0.5 {
		if q.t-start > limit {
			return math.Inf(1)
		}
		q.advance(0.1)
	}
	return q.t - start
}

func (q *queueSim) snapshot() ClusterSnapshot {
	s := ClusterSnapshot{At: time.Unix(0, 0).Add(time.Duration(q.t * float64(time.Second))),
		Levels: []LevelPending{{Priority: wire.PriorityNormal, Pending: uint64(math.Round(q.pending))}}}
	for i := range q.replicas {
		share := int64(math.Round(q.finished / float64(q.replicas)))
		s.Replicas = append(s.Replicas, ReplicaCapacity{Replica: fmt.Sprint("r", i),
			Capacity: Capacity{DrainRate: q.capacity, Finished: map[wire.Priority]int64{wire.PriorityNormal: share}}})
	}
	return s
}

const simInterval = 10.0 // seconds between the leader's snapshots

// firstScaleUp runs q one simInterval at a time until the advice
// recommends more than the current replicas, or until limit seconds.
func firstScaleUp(t *testing.T, q *queueSim, horizon time.Duration, limit float64) (at, pending float64, a clusterAdvice) {
	t.Helper()
	adv := newClusterAdvisor(30*time.Second, horizon, simInterval*time.Second)
	for q.t < limit {
		if a, ok := adv.observe(q.snapshot()); ok && a.Recommended > a.Current {
			return q.t, q.pending, a
		}
		q.advance(simInterval)
	}
	t.Fatalf("no advice to scale up within %vs", limit)
	return 0, 0, clusterAdvice{}
}

// Arrivals ramp linearly (1 event/s²) towards and past two replicas'
// capacity (200/s, reached at t=150s). With a 30s horizon the advice to
// scale up comes before pending exceeds one batch per replica; without
// the forecast (horizon 0) it comes only after.
func TestClusterAdviceRampScalesUpBeforeTheBacklog(t *testing.T) {
	t.Parallel()
	const batch, replicas = 16, 2
	ramp := func(t float64) float64 { return 50 + t }
	q := &queueSim{replicas: replicas, capacity: 100, rate: ramp}
	at, pending, a := firstScaleUp(t, q, 30*time.Second, 400)
	overAt := batchExceeded(queueSim{replicas: replicas, capacity: 100, rate: ramp}, batch*replicas)
	t.Logf("scale-up advised at t=%.0fs (pending %.0f, recommended %d, reason %s, forecast %.1f/s, trend %.2f/s²); "+
		"pending exceeds %d at t=%.1fs", at, pending, a.Recommended, a.Reason, a.Forecast.ArrivalRate,
		a.Forecast.Trend, batch*replicas, overAt)
	if at >= overAt || pending > batch*replicas {
		t.Fatalf("advice at t=%.0fs with %.0f pending, want before t=%.1fs (pending ≤ %d)", at, pending, overAt, batch*replicas)
	}
	if a.Reason != adviceForecast || math.Abs(a.Forecast.Trend-1) > 1e-6 {
		t.Fatalf("advice %+v, want reason %s with the ramp's slope as trend", a, adviceForecast)
	}
	late, latePending, _ := firstScaleUp(t, &queueSim{replicas: replicas, capacity: 100, rate: ramp}, 0, 400)
	t.Logf("without the forecast: t=%.0fs, pending %.0f", late, latePending)
	if late <= at {
		t.Fatalf("without the forecast the advice came at t=%.0fs, not after t=%.0fs", late, at)
	}
}

// batchExceeded is when q's pending first exceeds n.
func batchExceeded(q queueSim, n float64) float64 {
	for q.pending <= n {
		q.advance(0.1)
	}
	return q.t
}

// Arrivals step from 100/s to 400/s for 300s over three replicas of
// 100/s (a 30000-event backlog), then back to a steady 150/s. Once the
// forecast has settled on the steady rate, every predicted drain time is
// within 20% of the drain measured by running the queue on.
func TestClusterAdviceStepPredictsTheDrain(t *testing.T) {
	t.Parallel()
	step := func(t float64) float64 {
		switch {
		case t < 100:
			return 100
		case t < 400:
			return 400
		}
		return 150
	}
	q := &queueSim{replicas: 3, capacity: 100, rate: step}
	adv := newClusterAdvisor(30*time.Second, 30*time.Second, simInterval*time.Second)
	const settled = 460.0 // six intervals after the step down
	checked, worst := 0, 0.0
	for ; q.t <= 800; q.advance(simInterval) {
		a, ok := adv.observe(q.snapshot())
		if !ok || q.t < settled {
			if ok && q.t > 110 && q.t < 400 && a.Reason != adviceBacklogGrowing {
				t.Fatalf("t=%.0fs: reason %s while arrivals exceed capacity", q.t, a.Reason)
			}
			continue
		}
		measured := q.drainTime(3600)
		if measured < 2*simInterval {
			break
		}
		rel := math.Abs(a.PredictedDrainS-measured) / measured
		worst = max(worst, rel)
		checked++
		if rel > 0.2 || a.Levels[0].PredictedDrainS == nil || *a.Levels[0].PredictedDrainS != a.PredictedDrainS {
			t.Fatalf("t=%.0fs: predicted drain %.1fs, measured %.1fs (%.0f%% off), levels %+v",
				q.t, a.PredictedDrainS, measured, 100*rel, a.Levels)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d checks while draining", checked)
	}
	t.Logf("%d checks while draining, worst predicted drain %.1f%% off the measured one", checked, 100*worst)
}

// A step in arrivals is reported in the forecast error, which shrinks
// again once the rate holds.
func TestClusterAdviceForecastError(t *testing.T) {
	t.Parallel()
	q := &queueSim{replicas: 3, capacity: 100, rate: func(t float64) float64 { return 50 + 100*math.Floor(t/200) }}
	adv := newClusterAdvisor(30*time.Second, 30*time.Second, simInterval*time.Second)
	var atStep, later wire.ArrivalForecast
	for ; q.t <= 400; q.advance(simInterval) {
		a, ok := adv.observe(q.snapshot())
		switch sec := math.Round(q.t); {
		case ok && sec == 210:
			atStep = a.Forecast
		case ok && sec == 400:
			later = a.Forecast
		}
	}
	if atStep.Error < 10 || atStep.ErrorSamples == 0 {
		t.Fatalf("forecast error just after a step of 100/s: %+v", atStep)
	}
	if later.Error >= atStep.Error || later.ErrorRatio > 0.05 {
		t.Fatalf("forecast error %+v once steady, after %+v at the step", later, atStep)
	}
}

func TestClusterAdviceBound(t *testing.T) {
	t.Parallel()
	adv := newClusterAdvisor(30*time.Second, 0, 10*time.Second)
	at := time.Unix(0, 0)
	snap := func(sec int, pending uint64, finished int64, bound string) ClusterSnapshot {
		var rs []ReplicaCapacity
		for _, name := range []string{"a", "b"} {
			rs = append(rs, ReplicaCapacity{Replica: name, Capacity: Capacity{DrainRate: 10, Bound: bound,
				Finished: map[wire.Priority]int64{wire.PriorityHigh: finished}}})
		}
		return ClusterSnapshot{At: at.Add(time.Duration(sec) * time.Second), Replicas: rs,
			Levels: []LevelPending{{Priority: wire.PriorityCritical}, {Priority: wire.PriorityHigh, Pending: pending}}}
	}
	if _, ok := adv.observe(snap(0, 100, 0, boundRateLimit)); ok {
		t.Fatal("advice from one snapshot")
	}
	a, ok := adv.observe(snap(10, 300, 100, boundRateLimit)) // arrivals (200 + 200) / 10s = 40/s
	if !ok || a.ArrivalRate != 40 || a.Current != 2 || a.Recommended != 2 || a.Bound != boundRateLimit ||
		a.Reason != adviceBacklogGrowing || !math.IsInf(a.PredictedDrainS, 1) || a.Levels[1].PredictedDrainS != nil {
		t.Fatalf("advice %+v, want the current 2 replicas (rate-limit bound) for a growing backlog", a)
	}
	if d := a.telemetry(); d.Scope != wire.AdviceScopeCluster || d.PredictedDrainS != nil || len(d.Levels) != 2 ||
		d.Forecast == nil || d.ClusterDrainRate != 20 {
		t.Fatalf("telemetry %+v", d)
	}
	a, _ = adv.observe(snap(20, 600, 200, boundCPU))
	if a.Bound != boundCPU || a.Recommended <= 2 {
		t.Fatalf("CPU-bound advice %+v, want more replicas", a)
	}
}

// A daily pattern (four readings a day here: one every 6h) with nothing
// pending: the advisor moves from Holt to Holt-Winters once the season
// forecasts better, and then forecasts the next reading's rate.
func TestClusterAdviceDailyPattern(t *testing.T) {
	t.Parallel()
	const step = 6 * time.Hour
	day := []float64{20, 80, 140, 60} // arrivals/s in each quarter of the day
	adv := newClusterAdvisor(30*time.Second, step, step)
	var finished int64
	var last clusterAdvice
	for i := range 40 {
		finished += int64(day[i%len(day)] * step.Seconds())
		s := ClusterSnapshot{At: time.Unix(0, 0).Add(time.Duration(i) * step),
			Levels:   []LevelPending{{Priority: wire.PriorityNormal}},
			Replicas: []ReplicaCapacity{{Replica: "r", Capacity: Capacity{DrainRate: 500, Finished: map[wire.Priority]int64{wire.PriorityNormal: finished}}}}}
		if a, ok := adv.observe(s); ok {
			last = a
		}
	}
	f := last.Forecast
	if f.Method != "holt_winters" || math.Abs(f.ArrivalRate-day[40%len(day)]) > 1 || f.ErrorRatio > 0.01 {
		t.Fatalf("forecast %+v, want holt_winters forecasting %v/s", f, day[0])
	}
}
