package console

import (
	"testing"
	"time"
)

func TestSeriesBucketsCyclesAndForgetsTheOld(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	s := newSeries(time.Minute, 10*time.Second)
	s.add(now.Add(-5*time.Second), now, cycle{events: 20, succeeded: 18, failed: 2, durationMS: 10})
	s.add(now.Add(-5*time.Second), now, cycle{events: 10, succeeded: 10, durationMS: 30})
	s.add(now.Add(-2*time.Minute), now, cycle{events: 99, durationMS: 1}) // outside the window
	pts := s.points(now)
	if len(pts) != 6 || pts[5].T != now.Unix() {
		t.Fatalf("points %+v: want 6, the last at now", pts)
	}
	last := pts[4] // [now-10s, now): the two cycles
	if last.EventsPerS != 3 || last.Cycles != 2 || last.P50MS != 10 || last.P95MS != 30 {
		t.Fatalf("bucket %+v: want 3 events/s, p50 10, p95 30", last)
	}
	ok, bad, events := s.outcomes(now, time.Minute)
	if ok != 28 || bad != 2 || events != 30 {
		t.Fatalf("outcomes %d %d %d", ok, bad, events)
	}
	later := now.Add(2 * time.Minute)
	s.add(later, later, cycle{events: 1, succeeded: 1, durationMS: 5})
	if _, _, events := s.outcomes(later, time.Minute); events != 1 {
		t.Fatalf("after the window moved: %d events, want 1", events)
	}
}

func TestRingNewestFirst(t *testing.T) {
	t.Parallel()
	r := newRing[int](3)
	for i := range 5 {
		r.push(i)
	}
	if got := r.newest(0, nil); len(got) != 3 || got[0] != 4 || got[2] != 2 {
		t.Fatalf("newest = %v, want [4 3 2]", got)
	}
	if got := r.newest(1, func(v int) bool { return v%2 == 1 }); len(got) != 1 || got[0] != 3 {
		t.Fatalf("newest odd = %v, want [3]", got)
	}
}

func TestDrainInPriorityOrder(t *testing.T) {
	t.Parallel()
	levels, total, d := drain([]Level{{Priority: "critical", Pending: 10}, {Priority: "high", Pending: 30}}, 10)
	if total != 40 || *d != 4 || *levels[0].DrainS != 1 || *levels[1].DrainS != 4 {
		t.Fatalf("drain: %+v %d %v", levels, total, *d)
	}
	if _, _, d := drain([]Level{{Pending: 5}}, 0); d != nil {
		t.Fatal("no rate: want no drain time")
	}
}
