package cost

import (
	"iter"
	"math"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// None is the name of the source (or priority) of an event that has none.
const None = "(none)"

// Event names the groups one event's cost is added to.
type Event struct {
	Source   string // the event's source; "" counts under None
	Priority string // the priority of its subject; "" counts under None
}

// Sheet adds event records up, per template, deploy target, source and
// priority, without a lock: each worker keeps one and merges it into the
// Tally now and then when the tally is free (Tally.TryMerge) and when it
// leaves a cycle (Tally.Merge), so that no event waits on another's
// accounting. Not safe for concurrent use.
//
// An event's cost is split over the templates it rendered by each
// template's share of its renders' CPU time (measured on their thread,
// OnThread; by share of render time where that is not measured, of the
// bytes rendered when no time was, evenly when neither), and over its targets
// by each target's share of its deploy time (evenly when none was
// measured); bytes rendered and deployed and exec children's CPU are each
// template's own, bytes deployed each target's own. A group of events
// processed together is split evenly over its events for their sources
// and priorities. The ack stage is known only once the server confirms
// the ack, after the record is added: it counts in the total, the source
// and the priority (Tally.Acks), not in templates and targets.
type Sheet struct {
	rateWait float64
	total    acc
	groups   [numGroups]map[string]*acc
	// last is the event groupsOf looked up last, and its source and
	// priority accs (consecutive events mostly share them).
	last              Event
	lastSrc, lastPrio *acc
}

// NewSheet returns an empty sheet.
func NewSheet() *Sheet {
	s := &Sheet{}
	for g := range s.groups {
		s.groups[g] = map[string]*acc{}
	}
	return s
}

// Tally is the cost of the events since the last report: what the
// workers' sheets merged into it, and the acks. Report turns it into a
// cost_report. Safe for concurrent use.
type Tally struct {
	mu       sync.Mutex
	since    time.Time
	cpuSince time.Duration
	carry    float64 // process CPU seconds of earlier intervals, not attributed yet
	sheet    *Sheet
}

// The groups of a report.
const (
	byTemplate = iota
	bySource
	byPriority
	byTarget
	numGroups
)

// acc is the cost of a set of events (floats: shares split them).
type acc struct {
	events                      int64
	wall, busy, childCPU        float64
	bytesRendered, bytesOut, kv float64
	stages                      [numStages]float64
}

// PriorityEvents counts the events per priority (None for none) since
// the last report: the next report's by_priority events so far.
func (t *Tally) PriorityEvents() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.sheet.groups[byPriority]))
	for name, a := range t.sheet.groups[byPriority] {
		out[name] = a.events
	}
	return out
}

// NewTally starts a tally at now, with the process CPU time cpu at now.
func NewTally(now time.Time, cpu time.Duration) *Tally {
	return &Tally{since: now, cpuSince: cpu, sheet: NewSheet()}
}

// Add adds the record of r, the work done for events (one event, or a
// group processed together), and empties r (Recorder.Reset).
func (s *Sheet) Add(r *Recorder, events ...Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(events) > 0 {
		s.add(&r.rec, events)
	}
	r.reset()
}

func (s *Sheet) add(rec *Record, events []Event) {
	e := costOf(rec)
	n := int64(len(events))
	s.rateWait += rec.RateWait.Seconds()
	s.total.add(e, 1, n)
	for _, ev := range events {
		src, prio := s.groupsOf(ev)
		src.add(e, 1/float64(n), 1)
		prio.add(e, 1/float64(n), 1)
	}
	shares := templateShares(rec.Templates)
	for i, p := range rec.Templates {
		ep := e
		ep.bytesRendered, ep.bytesOut, ep.childCPU = float64(p.BytesRendered), float64(p.BytesOut), 0
		a := s.get(byTemplate, p.Name)
		a.add(ep.scaledExceptBytes(shares(i)), 1, n)
		a.childCPU += p.ChildCPU.Seconds()
	}
	tshares := targetShares(rec.Targets)
	for i, p := range rec.Targets {
		ep := e
		ep.bytesRendered, ep.bytesOut = 0, float64(p.BytesOut)
		s.get(byTarget, p.Name).add(ep.scaledExceptBytes(tshares(i)), 1, n)
	}
}

// Merge adds s to the tally and empties s (keeping its storage).
func (t *Tally) Merge(s *Sheet) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.merge(s)
}

// TryMerge is Merge unless another goroutine holds the tally: then it
// does nothing and returns false, so that a worker never waits on it.
func (t *Tally) TryMerge(s *Sheet) bool {
	if !t.mu.TryLock() {
		return false
	}
	defer t.mu.Unlock()
	t.merge(s)
	return true
}

func (t *Tally) merge(s *Sheet) {
	t.sheet.rateWait += s.rateWait
	t.sheet.total.add(s.total, 1, s.total.events)
	for g, m := range s.groups {
		for name, a := range m {
			if *a != (acc{}) {
				t.sheet.get(g, name).add(*a, 1, a.events)
				*a = acc{}
			}
		}
	}
	s.rateWait, s.total = 0, acc{}
}

// Acks adds the ack stage of each event acks yields, with the time from
// its ack sent to its confirmation, under one lock.
func (t *Tally) Acks(acks iter.Seq2[Event, time.Duration]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sh := t.sheet
	for ev, d := range acks {
		sec := d.Seconds()
		src, prio := sh.groupsOf(ev)
		for _, a := range [...]*acc{&sh.total, src, prio} {
			a.stages[Ack] += sec
			a.wall += sec
		}
	}
}

// groupsOf returns the source and priority accs of ev.
func (s *Sheet) groupsOf(ev Event) (src, prio *acc) {
	if s.lastSrc == nil || ev != s.last {
		s.last, s.lastSrc, s.lastPrio = ev, s.get(bySource, ev.Source), s.get(byPriority, ev.Priority)
	}
	return s.lastSrc, s.lastPrio
}

// get returns the acc of name in group g, creating it.
func (s *Sheet) get(g int, name string) *acc {
	if name == "" {
		name = None
	}
	a, ok := s.groups[g][name]
	if !ok {
		a = &acc{}
		s.groups[g][name] = a
	}
	return a
}

// costOf is the cost of one record, whole.
func costOf(rec *Record) acc {
	e := acc{kv: float64(rec.KVOps), childCPU: rec.ChildCPU.Seconds()}
	for s, d := range rec.Stages {
		e.stages[s] = d.Seconds()
		e.wall += d.Seconds()
	}
	e.busy = max(0, e.wall-rec.ChildWall.Seconds())
	for _, p := range rec.Templates {
		e.bytesRendered += float64(p.BytesRendered)
		e.bytesOut += float64(p.BytesOut)
	}
	return e
}

// add adds f times e, counting events events.
func (a *acc) add(e acc, f float64, events int64) {
	a.events += events
	a.wall += f * e.wall
	a.busy += f * e.busy
	a.childCPU += f * e.childCPU
	a.bytesRendered += f * e.bytesRendered
	a.bytesOut += f * e.bytesOut
	a.kv += f * e.kv
	for s := range a.stages {
		a.stages[s] += f * e.stages[s]
	}
}

// scaledExceptBytes is e times f, its bytes left whole.
func (e acc) scaledExceptBytes(f float64) acc {
	out := acc{}
	out.add(e, f, 0)
	out.bytesRendered, out.bytesOut = e.bytesRendered, e.bytesOut
	return out
}

// templateShares returns each template's share of an event: by the CPU
// time of its renders when every template's was measured, else by render
// time, else by bytes rendered, else even.
func templateShares(ps []Part) func(i int) float64 {
	var cpu, wall time.Duration
	var bytes int64
	allCPU := true
	for _, p := range ps {
		cpu += p.RenderCPU
		wall += p.Wall
		bytes += p.BytesRendered
		allCPU = allCPU && p.RenderCPU > 0
	}
	return func(i int) float64 {
		switch {
		case allCPU && cpu > 0:
			return float64(ps[i].RenderCPU) / float64(cpu)
		case wall > 0:
			return float64(ps[i].Wall) / float64(wall)
		case bytes > 0:
			return float64(ps[i].BytesRendered) / float64(bytes)
		}
		return 1 / float64(len(ps))
	}
}

// targetShares returns each target's share of an event: by deploy time,
// else even.
func targetShares(ps []Part) func(i int) float64 {
	var wall time.Duration
	for _, p := range ps {
		wall += p.Wall
	}
	return func(i int) float64 {
		if wall > 0 {
			return float64(ps[i].Wall) / float64(wall)
		}
		return 1 / float64(len(ps))
	}
}

// Report returns the cost of the interval from the previous report (or
// NewTally) to now and starts the next; cpu is the process's CPU time at
// now (ProcessCPU). The process CPU time of the interval is attributed to
// each group by its share of the interval's busy time (the in-process
// stage time of the events that finished in it); exec children's CPU time
// is added exactly. The CPU time of an interval in which no event
// finished is carried to the next report's events when inFlight says
// events were under way at now (they used it, and finish later); else it
// is in process_cpu_seconds only.
func (t *Tally) Report(now time.Time, cpu time.Duration, inFlight bool) wire.CostReportData {
	t.mu.Lock()
	defer t.mu.Unlock()
	sh := t.sheet
	proc := max(0, (cpu - t.cpuSince).Seconds())
	d := wire.CostReportData{IntervalSeconds: now.Sub(t.since).Seconds(), ProcessCPUSeconds: proc,
		BusySeconds: sh.total.busy, RateLimitSeconds: sh.rateWait, ChildCPUSeconds: sh.total.childCPU}
	perBusy, pool := 0.0, proc+t.carry
	switch {
	case sh.total.busy > 0:
		perBusy, t.carry = pool/sh.total.busy, 0
	case inFlight:
		t.carry = pool
	default:
		t.carry = 0
	}
	d.Total = sh.total.totals(perBusy)
	groups := [numGroups]map[string]wire.CostTotals{}
	for g, m := range sh.groups {
		groups[g] = make(map[string]wire.CostTotals, len(m))
		for name, a := range m {
			groups[g][name] = a.totals(perBusy)
		}
	}
	d.ByTemplate, d.BySource, d.ByPriority, d.ByTarget = groups[byTemplate], groups[bySource], groups[byPriority], groups[byTarget]
	t.since, t.cpuSince, t.sheet = now, cpu, NewSheet()
	return d
}

// totals is a as wire totals, with perBusy CPU seconds per busy second.
func (a *acc) totals(perBusy float64) wire.CostTotals {
	ct := wire.CostTotals{Events: a.events, CPUSeconds: a.childCPU + perBusy*a.busy, WallSeconds: a.wall,
		BytesRendered: int64(math.Round(a.bytesRendered)), BytesOut: int64(math.Round(a.bytesOut)),
		KVOps: int64(math.Round(a.kv))}
	for s, v := range a.stages {
		if v > 0 {
			if ct.StageSeconds == nil {
				ct.StageSeconds = make(map[string]float64, numStages)
			}
			ct.StageSeconds[wire.Stages[s]] = v
		}
	}
	return ct
}
