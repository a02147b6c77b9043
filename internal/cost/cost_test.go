package cost_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
)

const eps = 1e-9

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > eps*max(1, math.Abs(want)) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// A context without a Recorder records nothing, and costs no allocation.
func TestNoRecorderIsANoOp(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		r := cost.From(ctx)
		r.AddStage(cost.Render, time.Millisecond)
		r.Rendered("a", time.Millisecond, 3)
		r.Deployed("dir:out", "a", time.Millisecond, 3)
		r.Child("exec", time.Second, time.Second)
		r.KVOps(2)
		r.RateLimited(time.Second)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event without a recorder, want 0", allocs)
	}
}

// A reused recorder allocates nothing once its parts' storage exists.
func TestRecorderReuseAllocatesNothing(t *testing.T) {
	var r cost.Recorder
	ctx := cost.WithRecorder(context.Background(), &r)
	record := func() {
		rec := cost.From(ctx)
		rec.AddStage(cost.Render, time.Millisecond)
		rec.Rendered("a", time.Millisecond, 3)
		rec.Deployed("dir:out", "a", time.Millisecond, 3)
		r.Reset()
	}
	record()
	if allocs := testing.AllocsPerRun(100, record); allocs != 0 {
		t.Fatalf("%v allocations per event with a reused recorder, want 0", allocs)
	}
}

// report adds each record to a sheet, merges it and reports the interval
// of 10s over which the process used cpu.
func report(cpu time.Duration, add func(s *cost.Sheet)) wire.CostReportData {
	at := time.Unix(1000, 0)
	tally := cost.NewTally(at, time.Minute)
	s := cost.NewSheet()
	add(s)
	tally.Merge(s)
	return tally.Report(at.Add(10*time.Second), time.Minute+cpu, false)
}

func recorder(fn func(r *cost.Recorder)) *cost.Recorder {
	r := &cost.Recorder{}
	fn(r)
	return r
}

// The process's CPU time is split by busy time; templates share an event
// by render time, targets by deploy time; bytes are each one's own.
func TestTallyAttributesByShare(t *testing.T) {
	t.Parallel()
	ev := recorder(func(r *cost.Recorder) {
		r.AddStage(cost.Render, 4*time.Second)
		r.AddStage(cost.Deploy, 4*time.Second)
		r.Rendered("cheap", time.Second, 10)
		r.Rendered("dear", 3*time.Second, 30)
		r.Deployed("dir:a", "cheap", 3*time.Second, 10)
		r.Deployed("dir:b", "dear", time.Second, 30)
		r.KVOps(8)
	})
	other := recorder(func(r *cost.Recorder) { r.AddStage(cost.Decode, 8*time.Second) })
	rep := report(4*time.Second, func(s *cost.Sheet) {
		s.Add(ev, cost.Event{Source: "crm", Priority: "high"})
		s.Add(other, cost.Event{})
	})
	near(t, "process cpu", rep.ProcessCPUSeconds, 4)
	near(t, "busy", rep.BusySeconds, 16)
	near(t, "interval", rep.IntervalSeconds, 10)
	near(t, "total cpu", rep.Total.CPUSeconds, 4)
	near(t, "crm cpu", rep.BySource["crm"].CPUSeconds, 2)
	near(t, "(none) cpu", rep.BySource[cost.None].CPUSeconds, 2)
	near(t, "(none) priority cpu", rep.ByPriority[cost.None].CPUSeconds, 2)
	cheap, dear := rep.ByTemplate["cheap"], rep.ByTemplate["dear"]
	near(t, "cheap cpu", cheap.CPUSeconds, 0.5)
	near(t, "dear cpu", dear.CPUSeconds, 1.5)
	near(t, "dear wall", dear.WallSeconds, 6)
	near(t, "dear kv", float64(dear.KVOps), 6)
	if cheap.BytesRendered != 10 || dear.BytesOut != 30 || cheap.Events != 1 {
		t.Fatalf("templates %+v %+v: want their own bytes and one event", cheap, dear)
	}
	near(t, "dir:a cpu", rep.ByTarget["dir:a"].CPUSeconds, 1.5)
	near(t, "dir:b deploy", rep.ByTarget["dir:b"].StageSeconds[wire.StageDeploy], 1)
	if rep.ByTarget["dir:a"].BytesOut != 10 || rep.Total.BytesOut != 40 || rep.Total.Events != 2 {
		t.Fatalf("report %+v: want target dir:a 10 bytes out, 40 in all over 2 events", rep)
	}
}

// Exec children's CPU is exact and their wall time is not busy time.
func TestTallyChildCPUIsExact(t *testing.T) {
	t.Parallel()
	ex := recorder(func(r *cost.Recorder) {
		r.AddStage(cost.Render, 3*time.Second)
		r.Child("exec", 2*time.Second, 1500*time.Millisecond)
		r.Rendered("exec", 3*time.Second, 5)
	})
	rep := report(time.Second, func(s *cost.Sheet) { s.Add(ex, cost.Event{Source: "s"}) })
	near(t, "busy", rep.BusySeconds, 1)
	near(t, "exec cpu", rep.ByTemplate["exec"].CPUSeconds, 2.5)
	near(t, "total cpu", rep.Total.CPUSeconds, 2.5)
	near(t, "child cpu", rep.ChildCPUSeconds, 1.5)
}

// A group's cost is split evenly over its events' sources; the ack stage
// counts in the total, the source and the priority.
func TestTallyGroupsAndAcks(t *testing.T) {
	t.Parallel()
	at := time.Unix(0, 0)
	tally := cost.NewTally(at, 0)
	s := cost.NewSheet()
	g := recorder(func(r *cost.Recorder) { r.AddStage(cost.Model, 3*time.Second); r.KVOps(3) })
	s.Add(g, cost.Event{Source: "a", Priority: "low"}, cost.Event{Source: "a", Priority: "low"}, cost.Event{Source: "b", Priority: "low"})
	tally.Merge(s)
	tally.Acks(func(yield func(cost.Event, time.Duration) bool) {
		yield(cost.Event{Source: "b", Priority: "low"}, time.Second)
	})
	rep := tally.Report(at.Add(time.Second), time.Second, false)
	if a := rep.BySource["a"]; a.Events != 2 || a.KVOps != 2 || math.Abs(a.WallSeconds-2) > eps {
		t.Fatalf("source a = %+v, want 2 events, 2 KV ops, 2s", a)
	}
	near(t, "b wall", rep.BySource["b"].WallSeconds, 2)
	near(t, "b ack", rep.BySource["b"].StageSeconds[wire.StageAck], 1)
	near(t, "total wall", rep.Total.WallSeconds, 4)
	near(t, "low cpu", rep.ByPriority["low"].CPUSeconds, 1)
	if rep.Total.Events != 3 {
		t.Fatalf("total events %d, want 3", rep.Total.Events)
	}
}

// Each report holds the deltas since the previous one; merged sheets are
// emptied.
func TestTallyReportsDeltas(t *testing.T) {
	t.Parallel()
	at := time.Unix(0, 0)
	tally := cost.NewTally(at, 0)
	s := cost.NewSheet()
	s.Add(recorder(func(r *cost.Recorder) { r.AddStage(cost.Render, time.Second) }), cost.Event{})
	tally.Merge(s)
	tally.Merge(s) // empty now
	first := tally.Report(at.Add(time.Second), time.Second, false)
	second := tally.Report(at.Add(3*time.Second), 2*time.Second, false)
	if first.Total.Events != 1 || second.Total.Events != 0 || len(second.BySource) != 0 {
		t.Fatalf("reports %+v then %+v, want 1 event then none", first, second)
	}
	near(t, "second interval", second.IntervalSeconds, 2)
	near(t, "second process cpu", second.ProcessCPUSeconds, 1)
	near(t, "second total cpu", second.Total.CPUSeconds, 0)
}

func TestProcessCPUGrows(t *testing.T) {
	t.Parallel()
	before, ok := cost.ProcessCPU()
	if !ok {
		t.Skip("no process CPU clock on this platform")
	}
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for after, _ := cost.ProcessCPU(); after <= before; after, _ = cost.ProcessCPU() {
		if time.Now().After(deadline) {
			t.Fatal("process CPU time did not grow while spinning")
		}
		for i := range 100000 {
			x += i
		}
	}
	_ = x
}

// The CPU time of an interval in which no event finished goes to the next
// events when some were in flight, and to none when the replica was idle.
func TestTallyCarriesCPUWhileEventsAreInFlight(t *testing.T) {
	t.Parallel()
	at := time.Unix(0, 0)
	tally := cost.NewTally(at, 0)
	tally.Report(at.Add(time.Second), 2*time.Second, false)         // idle: dropped
	tally.Report(at.Add(2*time.Second), 3*time.Second, true)        // in flight: carried
	mid := tally.Report(at.Add(3*time.Second), 4*time.Second, true) // carried again
	s := cost.NewSheet()
	s.Add(recorder(func(r *cost.Recorder) { r.AddStage(cost.Render, time.Second) }), cost.Event{})
	tally.Merge(s)
	last := tally.Report(at.Add(4*time.Second), 5*time.Second, false)
	near(t, "in-flight interval's total cpu", mid.Total.CPUSeconds, 0)
	near(t, "last process cpu", last.ProcessCPUSeconds, 1)
	near(t, "last total cpu", last.Total.CPUSeconds, 3)
}

// PriorityEvents counts the events merged since the last report, and
// starts again after one.
func TestTallyPriorityEvents(t *testing.T) {
	t.Parallel()
	tally := cost.NewTally(time.Unix(0, 0), 0)
	sh := cost.NewSheet()
	var rec cost.Recorder
	sh.Add(&rec, cost.Event{Priority: "high"}, cost.Event{Priority: "high"})
	sh.Add(&rec, cost.Event{Priority: "low"})
	tally.Merge(sh)
	if got := tally.PriorityEvents(); got["high"] != 2 || got["low"] != 1 || len(got) != 2 {
		t.Fatalf("priority events = %v, want high 2, low 1", got)
	}
	rep := tally.Report(time.Unix(1, 0), 0, false)
	if rep.ByPriority["high"].Events != 2 || len(tally.PriorityEvents()) != 0 {
		t.Fatalf("after the report: %v, report %v", tally.PriorityEvents(), rep.ByPriority)
	}
}
