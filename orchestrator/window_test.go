package orchestrator

import (
	"testing"
	"time"
)

func TestCycleRingKeepsTheLatest(t *testing.T) {
	t.Parallel()
	var r cycleRing
	at := time.Unix(0, 0)
	for i := range 1500 { // back to back, no overlap
		d := time.Duration(i+1) * time.Millisecond
		r.add(at, d)
		at = at.Add(d)
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

func TestCycleRingCountsOverlapOnce(t *testing.T) {
	t.Parallel()
	var r cycleRing
	t0 := time.Unix(100, 0)
	r.add(t0, 10*time.Millisecond)                         // 0-10
	r.add(t0.Add(5*time.Millisecond), 10*time.Millisecond) // 5-15: 5 new
	r.add(t0.Add(6*time.Millisecond), 2*time.Millisecond)  // 6-8: inside
	r.add(t0.Add(20*time.Millisecond), 5*time.Millisecond) // 20-25: gap, 5 new
	if _, cycles, busy := r.since(0); cycles != 4 || busy != 20*time.Millisecond {
		t.Fatalf("cycles=%d busy=%s, want 4 and 20ms", cycles, busy)
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
	t0 := time.Unix(100, 0)
	o.stats.addCycle(ParallelExecution{DurationMS: 10, Events: 4}, 0)
	o.afterCycle(ParallelExecution{StartedAt: t0, DurationMS: 10, Events: 4})
	start := o.markNow()
	for _, pe := range []ParallelExecution{ // back to back
		{StartedAt: t0.Add(10 * time.Millisecond), DurationMS: 20, Events: 10, Succeeded: 6, Failed: 2, Rejected: 1, Deferred: 1},
		{StartedAt: t0.Add(30 * time.Millisecond), DurationMS: 40, Events: 10, Succeeded: 10},
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

// Data errors (rejections) are no sign of load: however many there are,
// the tuner's error rate ignores them and keeps concurrency.
func TestRejectionsDoNotCutConcurrency(t *testing.T) {
	t.Parallel()
	w := windowStats{Cycles: 50, Events: 1000, Failures: 600, Rejected: 600, AvgMS: 10}
	if got := w.LoadErrorRate(); got != 0 {
		t.Fatalf("load error rate = %v, want 0 for rejections only", got)
	}
	next, reason := decideConcurrency(tuneInput{Concurrency: 8, Min: 1, Max: 64, Cycles: w.Cycles, Events: w.Events,
		AvgMS: w.AvgMS, Target: time.Second, ErrRate: w.LoadErrorRate(), Batch: 16, PendingKnown: true})
	if next < 8 {
		t.Fatalf("concurrency cut to %d (%s) by data errors", next, reason)
	}
}
