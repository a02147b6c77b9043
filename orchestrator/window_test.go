package orchestrator

import (
	"testing"
	"time"
)

func TestCycleRingKeepsTheLatest(t *testing.T) {
	t.Parallel()
	var r cycleRing
	for i := range 1500 {
		r.add(time.Duration(i+1) * time.Millisecond)
	}
	durs, cycles, busy := r.since(0)
	if cycles != 1500 || len(durs) != cycleRingSize || durs[0] != 477*time.Millisecond ||
		durs[len(durs)-1] != 1500*time.Millisecond {
		t.Fatalf("cycles=%d len=%d first=%s last=%s", cycles, len(durs), durs[0], durs[len(durs)-1])
	}
	if busy != 1500*1501/2*time.Millisecond {
		t.Fatalf("busy = %s", busy)
	}
	if durs, _, _ := r.since(1490); len(durs) != 10 || durs[0] != 1491*time.Millisecond {
		t.Fatalf("since(1490) = %v", durs)
	}
	if durs, _, _ := r.since(1500); len(durs) != 0 {
		t.Fatalf("since(now) = %v", durs)
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var durs []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		durs = append(durs, time.Duration(i)*time.Millisecond)
	}
	if p50, p95, p99 := percentiles(durs); p50 != 50 || p95 != 95 || p99 != 99 {
		t.Fatalf("p50/p95/p99 = %v/%v/%v", p50, p95, p99)
	}
	if p50, p95, p99 := percentiles([]time.Duration{7 * time.Millisecond}); p50 != 7 || p95 != 7 || p99 != 7 {
		t.Fatalf("one sample: %v/%v/%v", p50, p95, p99)
	}
	if p50, _, _ := percentiles(nil); p50 != 0 {
		t.Fatalf("no samples: %v", p50)
	}
}

func TestWindowSince(t *testing.T) {
	t.Parallel()
	o := &Orchestrator{}
	o.stats.addCycle(ParallelExecution{DurationMS: 10, Events: 4}, 0)
	o.afterCycle(ParallelExecution{DurationMS: 10, Events: 4})
	start := o.markNow()
	for _, pe := range []ParallelExecution{
		{DurationMS: 20, Events: 10, Succeeded: 6, Failed: 2, Rejected: 1, Deferred: 1},
		{DurationMS: 40, Events: 10, Succeeded: 10},
	} {
		o.stats.addCycle(pe, 0)
		o.afterCycle(pe)
	}
	o.stats.addDeadLettered(1)
	w, _ := o.windowSince(start)
	if w.Cycles != 2 || w.Events != 20 || w.Failures != 3 || w.Rejected != 1 || w.Deferred != 1 ||
		w.AvgMS != 30 || w.Busy != 60*time.Millisecond || w.P99MS != 40 {
		t.Fatalf("window = %+v", w)
	}
	// 16 acked + 1 dead-lettered left the stream; 2 failed + 1 deferred were nak'ed.
	if w.Removed != 17 {
		t.Fatalf("removed = %d, want 17", w.Removed)
	}
	if rate, ok := w.SuccessRate(); !ok || rate != 0.8 {
		t.Fatalf("success rate = %v", rate)
	}
	if got := w.LoadErrorRate(); got != 0.15 {
		t.Fatalf("load error rate = %v, want 0.15 (2 failed + 1 deferred of 20)", got)
	}
}
