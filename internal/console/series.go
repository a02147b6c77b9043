package console

import (
	"slices"
	"time"
)

// maxCyclesPerBucket bounds the cycle durations one bucket keeps for its
// percentiles.
const maxCyclesPerBucket = 512

// bucket sums the cycles that ended within one Bucket of time.
type bucket struct {
	start                                        int64 // unix seconds; 0: empty
	events, succeeded, skipped, failed, rejected int
	cycles                                       []float64
}

// Point is one chart point: the events per second and the cycle times of
// the cycles that ended within [T, T+bucket).
type Point struct {
	T          int64   `json:"t"`
	EventsPerS float64 `json:"eps"`
	Cycles     int     `json:"cycles"`
	P50MS      float64 `json:"p50_ms"`
	P95MS      float64 `json:"p95_ms"`
}

// series is the window of buckets, one slot per bucket, reused as time
// moves on. Not safe for concurrent use.
type series struct {
	width   int64 // seconds
	buckets []bucket
}

func newSeries(window, width time.Duration) *series {
	w := max(int64(width/time.Second), 1)
	return &series{width: w, buckets: make([]bucket, max(int64(window/time.Second)/w, 1))}
}

// slot is the bucket of t, emptied when it held an older bucket; nil when
// t is outside the window ending at now.
func (s *series) slot(t, now time.Time) *bucket {
	start := t.Unix() - t.Unix()%s.width
	if start+int64(len(s.buckets))*s.width <= now.Unix() || start > now.Unix()+s.width {
		return nil
	}
	b := &s.buckets[(start/s.width)%int64(len(s.buckets))]
	if b.start != start {
		*b = bucket{start: start}
	}
	return b
}

// add records one cycle that ended at t.
func (s *series) add(t, now time.Time, c cycle) {
	b := s.slot(t, now)
	if b == nil {
		return
	}
	b.events += c.events
	b.succeeded += c.succeeded
	b.skipped += c.skipped
	b.failed += c.failed
	b.rejected += c.rejected
	if len(b.cycles) < maxCyclesPerBucket {
		b.cycles = append(b.cycles, c.durationMS)
	}
}

// cycle is what a regeneration_completed reports.
type cycle struct {
	events, succeeded, skipped, failed, rejected int
	durationMS                                   float64
}

// points returns one point per bucket of the window ending at now,
// oldest first (empty buckets as zeros).
func (s *series) points(now time.Time) []Point {
	n := int64(len(s.buckets))
	last := now.Unix() - now.Unix()%s.width
	out := make([]Point, 0, n)
	for start := last - (n-1)*s.width; start <= last; start += s.width {
		p := Point{T: start}
		if b := s.buckets[(start/s.width)%n]; b.start == start {
			p.EventsPerS = float64(b.events) / float64(s.width)
			p.Cycles = len(b.cycles)
			p.P50MS, p.P95MS = percentile(b.cycles, 0.50), percentile(b.cycles, 0.95)
		}
		out = append(out, p)
	}
	return out
}

// outcomes sums the buckets of the window ending at now: events seen,
// and those that succeeded or were skipped, failed or were rejected.
func (s *series) outcomes(now time.Time, since time.Duration) (ok, bad, events int) {
	from := now.Add(-since).Unix()
	for _, b := range s.buckets {
		if b.start == 0 || b.start+s.width <= from || b.start > now.Unix() {
			continue
		}
		ok += b.succeeded + b.skipped
		bad += b.failed + b.rejected
		events += b.events
	}
	return ok, bad, events
}

// percentile is the q-quantile of xs (nearest rank), 0 for none.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
