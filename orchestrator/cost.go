package orchestrator

import (
	"fmt"
	"runtime"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/cost"
)

// Cost accounting. Each worker carries a cost.Recorder in its events'
// context: the orchestrator records the decode and ack stages, the
// engine and the deployers the rest (see package cost). Each finished
// event's record is added to the orchestrator's cost.Tally; every health
// interval the tally becomes a cost_report (deltas since the previous
// one), which the CostObserver (Prometheus) and the scaling advice read.

// CostObserver is an Observer that also takes each cost_report (the
// Prometheus metrics are one). Calls come from the health loop and must
// not block.
type CostObserver interface {
	CostReported(r wire.CostReportData)
}

// Bounds of the replica's throughput, the "bound" of scaling_advice.
const (
	boundCPU       = "cpu"        // the process uses about every core: more replicas help
	boundRateLimit = "rate_limit" // events mostly wait on rate limits: more replicas do not help
	boundTarget    = "target"     // events mostly wait on a deploy target: more replicas do not help
)

// Thresholds of the bounds.
const (
	cpuBoundShare    = 0.8 // CPU time of at least this share of GOMAXPROCS × interval
	waitBoundShare   = 0.5 // rate-limit waits of at least this share of the events' time
	targetBoundShare = 0.5 // deploy stage of at least this share of the events' wall time
)

// costMergeEvery is how often a worker tries to merge its sheet into the
// tally between events (it always does when it leaves a cycle), so that a
// report counts the events finished in its interval even in long cycles.
const costMergeEvery = 10 * time.Millisecond

// costReport returns the interval's cost_report and starts the next.
func (o *Orchestrator) costReport() wire.CostReportData {
	cpu, _ := cost.ProcessCPU()
	rep := o.cost.Report(time.Now(), cpu, o.InFlight() > 0)
	if co, ok := o.deps.Observer.(CostObserver); ok {
		co.CostReported(rep)
	}
	return rep
}

// costBound says what bounds the replica over the interval of rep, and
// why: CPU when its CPU time (the process's and its exec children's)
// reaches cpuBoundShare of cores × interval; else a rate limit when its
// events waited on rate limits for at least waitBoundShare of their time;
// else a target when the deploy stage took at least targetBoundShare of
// their wall time. "" when none applies.
func costBound(rep wire.CostReportData, cores int) (bound, reason string) {
	if rep.IntervalSeconds <= 0 || cores <= 0 {
		return "", ""
	}
	cpu := rep.ProcessCPUSeconds + rep.ChildCPUSeconds
	avail := float64(cores) * rep.IntervalSeconds
	wall := rep.Total.WallSeconds
	switch {
	case cpu >= cpuBoundShare*avail:
		return boundCPU, fmt.Sprintf("%.1f CPU seconds of %.1f available (%d cores): more replicas help", cpu, avail, cores)
	case rep.RateLimitSeconds > 0 && rep.RateLimitSeconds >= waitBoundShare*(wall+rep.RateLimitSeconds):
		return boundRateLimit, fmt.Sprintf("events waited %.1fs on rate limits, worked %.1fs: more replicas do not help",
			rep.RateLimitSeconds, wall)
	case wall > 0 && rep.Total.StageSeconds[wire.StageDeploy] >= targetBoundShare*wall:
		return boundTarget, fmt.Sprintf("deploy took %.1fs of the events' %.1fs (slowest target %s): more replicas do not help",
			rep.Total.StageSeconds[wire.StageDeploy], wall, slowestTarget(rep.ByTarget))
	}
	return "", ""
}

// slowestTarget is the target with the most wall time per event.
func slowestTarget(targets map[string]wire.CostTotals) string {
	name, worst := "", -1.0
	for n, t := range targets {
		if t.Events == 0 {
			continue
		}
		if per := t.WallSeconds / float64(t.Events); per > worst || (per == worst && n < name) {
			name, worst = n, per
		}
	}
	return name
}

// cores is how many cores the process may use.
func cores() int { return runtime.GOMAXPROCS(0) }
