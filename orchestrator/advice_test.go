package orchestrator

import (
	"math"
	"testing"
	"time"
)

func TestScalingAdvice(t *testing.T) {
	t.Parallel()
	const target = 30 * time.Second
	tests := []struct {
		name   string
		in     adviceInput
		want   int // recommended replicas; 0 = no advice
		reason string
	}{
		{"steady within capacity", adviceInput{Pending: 10, PrevPending: 10, Interval: time.Second,
			Removed: 50, Busy: 500 * time.Millisecond}, 0, ""},
		{"arrival above drain: ceil(arrival/drain)", adviceInput{Pending: 1000, PrevPending: 750,
			Interval: time.Second, Removed: 100, Busy: time.Second}, 4, adviceBacklogGrowing},
		{"big backlog, fast drain within target", adviceInput{Pending: 10_000, PrevPending: 12_000,
			Interval: time.Second, Removed: 2000, Busy: time.Second}, 0, ""},
		{"backlog drains, but slower than the target", adviceInput{Pending: 10_000, PrevPending: 10_100,
			Interval: time.Second, Removed: 200, Busy: time.Second}, 3, adviceDrainTooSlow},
		{"two replicas known", adviceInput{Pending: 1000, PrevPending: 750, Interval: time.Second,
			Removed: 100, Busy: time.Second, Replicas: 2}, 4, adviceBacklogGrowing},
		{"two replicas keep up, but not within target", adviceInput{Pending: 6000, PrevPending: 6050,
			Interval: time.Second, Removed: 100, Busy: time.Second, Replicas: 2}, 3, adviceDrainTooSlow},
		{"nothing drained: no rate to reason from", adviceInput{Pending: 1000, PrevPending: 10,
			Interval: time.Second}, 0, ""},
		{"empty backlog", adviceInput{Interval: time.Second, Removed: 100, Busy: time.Second}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.in.Target = target
			a, ok := scalingAdvice(tt.in)
			if ok != (tt.want > 0) || a.Recommended != tt.want || a.Reason != tt.reason {
				t.Fatalf("advice = %+v ok=%v, want %d replicas (%s)", a, ok, tt.want, tt.reason)
			}
			if ok && tt.reason == adviceBacklogGrowing && !math.IsInf(a.PredictedDrainS, 1) {
				t.Fatalf("growing backlog predicted to drain in %vs", a.PredictedDrainS)
			}
			if ok && tt.reason == adviceDrainTooSlow && a.PredictedDrainS <= target.Seconds() {
				t.Fatalf("predicted drain %vs within target", a.PredictedDrainS)
			}
		})
	}
}

// A synthetic day: arrivals within one replica's capacity, then a surge
// above it. The advice must stay silent while the replica keeps up and
// speak before an arriving event would wait longer than the target.
func TestScalingAdviceSyntheticArrivals(t *testing.T) {
	t.Parallel()
	const capacity, target = 100.0, 30 * time.Second
	arrivals := func(sec int) float64 {
		if sec < 60 {
			return 60 + float64(sec%10)*3 // 60..87/s: within capacity
		}
		return 130 // surge
	}
	pending, advisedAt, breachAt := 0.0, -1, -1
	for sec := range 300 {
		prev := pending
		work := pending + arrivals(sec)
		done := math.Min(work, capacity)
		pending = work - done
		a, ok := scalingAdvice(adviceInput{Pending: uint64(pending), PrevPending: uint64(prev), Interval: time.Second,
			Removed: int64(done), Busy: time.Duration(done / capacity * float64(time.Second)), Target: target})
		if ok && advisedAt < 0 {
			advisedAt = sec
			if a.Recommended != 2 {
				t.Errorf("recommended %d replicas, want ceil(130/100) = 2", a.Recommended)
			}
		}
		if pending/capacity > target.Seconds() && breachAt < 0 {
			breachAt = sec
		}
	}
	if advisedAt < 60 || breachAt < 0 || advisedAt >= breachAt {
		t.Fatalf("advised at %ds, backlog breached the target at %ds: advice must come after the surge (60s) and before the breach",
			advisedAt, breachAt)
	}
}
