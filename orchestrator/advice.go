package orchestrator

import (
	"log/slog"
	"math"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Scaling advice reasons.
const (
	adviceBacklogGrowing = "backlog_growing"      // arrivals at or above what the replicas drain
	adviceDrainTooSlow   = "drain_exceeds_target" // the backlog drains, but not within the target cycle
)

// adviceInput is what the scaling advice is computed from: two readings of
// the consumer's pending count an interval apart, and what this replica
// drained in between.
type adviceInput struct {
	Pending, PrevPending uint64
	Interval             time.Duration
	// Removed counts deliveries this replica took off the stream in the
	// interval (other replicas' are unseen: with several, the arrival
	// rate is a lower bound).
	Removed  int64
	Busy     time.Duration // time this replica spent in cycles in the interval
	Replicas int           // current replica estimate (1 unless known)
	Target   time.Duration // cycle target: the longest acceptable drain time
}

// advice is a scaling recommendation.
type advice struct {
	Recommended int
	Current     int
	// PredictedDrainS is the time to drain the backlog at the current
	// rates; +Inf when it grows.
	PredictedDrainS float64
	Pending         uint64
	ArrivalRate     float64 // events/s arriving on the stream
	DrainRate       float64 // events/s one replica drains while busy
	Reason          string
	// Bound and BoundReason say what bounded the replica (costBound).
	Bound, BoundReason string
}

// scalingAdvice recommends a replica count when the backlog would not
// drain within the target at the current arrival and drain rates, before
// it has waited that long. ok is false when the replicas suffice or the
// drain rate is not known yet (nothing drained). The rates:
//
//	arrival = (pending − prev_pending + removed) / interval
//	drain   = removed / busy              (per replica, while working)
//	recommended = ceil((arrival + pending/target) / drain)
//
// so that the replicas absorb the arrivals and drain the backlog within
// the target.
func scalingAdvice(in adviceInput) (advice, bool) {
	if in.Pending == 0 || in.Removed <= 0 || in.Busy <= 0 || in.Interval <= 0 {
		return advice{}, false
	}
	replicas := max(in.Replicas, 1)
	arrival := max(0, (float64(in.Pending)-float64(in.PrevPending)+float64(in.Removed))/in.Interval.Seconds())
	drain := float64(in.Removed) / in.Busy.Seconds()
	a := advice{Current: replicas, Pending: in.Pending, ArrivalRate: arrival, DrainRate: drain,
		PredictedDrainS: math.Inf(1), Reason: adviceBacklogGrowing}
	if net := float64(replicas)*drain - arrival; net > 0 {
		a.PredictedDrainS = float64(in.Pending) / net
		a.Reason = adviceDrainTooSlow
	}
	if a.PredictedDrainS <= in.Target.Seconds() {
		return advice{}, false
	}
	a.Recommended = int(math.Ceil((arrival + float64(in.Pending)/in.Target.Seconds()) / drain))
	a.Recommended = max(a.Recommended, replicas+1)
	return a, true
}

// telemetry returns the scaling_advice data of one replica's advice
// (scope replica); predicted_drain_s is null when the backlog grows.
func (a advice) telemetry() wire.ScalingAdviceData {
	var drainS *float64
	if !math.IsInf(a.PredictedDrainS, 1) {
		drainS = &a.PredictedDrainS
	}
	return wire.ScalingAdviceData{RecommendedReplicas: a.Recommended, CurrentReplicasEstimate: a.Current,
		PredictedDrainS: drainS, Pending: a.Pending, ArrivalRate: a.ArrivalRate,
		DrainRate: a.DrainRate, Reason: a.Reason, Bound: a.Bound, BoundReason: a.BoundReason, Scope: wire.AdviceScopeReplica}
}

// withBound is a bounded by bound (costBound) for reason: bound by a rate
// limit or a deploy target, more replicas would not drain the backlog
// sooner, so it recommends the current count.
func (a advice) withBound(bound, reason string) advice {
	a.Bound, a.BoundReason = bound, reason
	if bound == boundRateLimit || bound == boundTarget {
		a.Recommended = a.Current
	}
	return a
}

// adviseScaling publishes scaling_advice when the backlog would breach the
// target. prev is the pending count of the previous health check; bound
// and boundReason say what bounded the replica over the interval.
func (o *Orchestrator) adviseScaling(w windowStats, pending, prev uint64, bound, boundReason string) {
	a, ok := scalingAdvice(adviceInput{Pending: pending, PrevPending: prev, Interval: w.Span,
		Removed: w.Removed, Busy: w.Busy, Replicas: 1, Target: o.cfg.TargetCycle})
	if !ok {
		return
	}
	a = a.withBound(bound, boundReason)
	o.log.Warn("scaling advice", slog.Int("recommended_replicas", a.Recommended),
		slog.Uint64("pending", a.Pending), slog.Float64("arrival_rate", a.ArrivalRate),
		slog.Float64("drain_rate", a.DrainRate), slog.String("reason", a.Reason),
		slog.String("bound", a.Bound), slog.String("bound_reason", a.BoundReason))
	o.publish(a.telemetry())
}
