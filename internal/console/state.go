package console

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/observe"
)

// feedItem is one telemetry record as it arrived, kept raw for the page.
type feedItem struct {
	Type wire.TelemetryType
	At   time.Time
	Raw  json.RawMessage
}

// Deployment is one deployment_completed, as the page lists it.
type Deployment struct {
	At      time.Time `json:"at"`
	Replica string    `json:"replica"`
	wire.DeploymentCompletedData
}

// Advice is the last scaling_advice.
type Advice struct {
	At      time.Time `json:"at"`
	Replica string    `json:"replica"`
	wire.ScalingAdviceData
}

// costItem is one cost_report.
type costItem struct {
	At   time.Time
	Data wire.CostReportData
}

// polled is what the last poll read (each part with its error, if any).
type polled struct {
	replicas []observe.ReplicaStats
	levels   []Level
	dlq      *DLQCount
	errs     map[string]string
}

// state is everything the console knows, guarded by mu. ingest and
// setPolled write it; snapshot and the list methods read it.
type state struct {
	cfg Config

	mu      sync.Mutex
	series  *series
	feed    *ring[feedItem]
	deploys *ring[Deployment]
	costs   *ring[costItem]
	advice  *Advice
	last    time.Time // timestamp of the newest record ingested
	poll    polled
}

func newState(cfg Config) *state {
	return &state{cfg: cfg, series: newSeries(cfg.Window, cfg.Bucket), feed: newRing[feedItem](cfg.FeedSize),
		deploys: newRing[Deployment](cfg.DeploySize), costs: newRing[costItem](cfg.CostSize)}
}

// reset forgets everything ingested and polled (the rings' sequence
// numbers go on, so a page notices the change).
func (s *state) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := newState(s.cfg)
	fresh.feed.seq, fresh.deploys.seq, fresh.costs.seq = s.feed.seq, s.deploys.seq, s.costs.seq
	s.series, s.feed, s.deploys, s.costs = fresh.series, fresh.feed, fresh.deploys, fresh.costs
	s.advice, s.last, s.poll = nil, time.Time{}, polled{}
}

// ingest adds one telemetry record (raw JSON) read at now; a record that
// does not decode is ignored. It returns the feed item (ok false when
// ignored).
func (s *state) ingest(raw []byte, now time.Time) (feedItem, bool) {
	var rec wire.TelemetryEnvelope[json.RawMessage]
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Type == "" {
		return feedItem{}, false
	}
	item := feedItem{Type: rec.Type, At: rec.Timestamp, Raw: json.RawMessage(raw)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed.push(item)
	if rec.Timestamp.After(s.last) {
		s.last = rec.Timestamp
	}
	s.apply(rec, now)
	return item, true
}

// apply folds one record into the series and rings.
func (s *state) apply(rec wire.TelemetryEnvelope[json.RawMessage], now time.Time) {
	switch rec.Type {
	case wire.RegenerationCompleted:
		var d wire.RegenerationCompletedData
		var final struct {
			Final bool `json:"final"`
		}
		if json.Unmarshal(rec.Data, &final) == nil && !final.Final && json.Unmarshal(rec.Data, &d) == nil {
			s.series.add(rec.Timestamp, now, cycle{events: d.Events, succeeded: d.Succeeded, skipped: d.Skipped,
				failed: d.Failed, rejected: d.Rejected, durationMS: d.DurationMS})
		}
	case wire.DeploymentCompleted:
		var d wire.DeploymentCompletedData
		if json.Unmarshal(rec.Data, &d) == nil {
			s.deploys.push(Deployment{At: rec.Timestamp, Replica: rec.Replica, DeploymentCompletedData: d})
		}
	case wire.ScalingAdvice:
		var d wire.ScalingAdviceData
		if json.Unmarshal(rec.Data, &d) == nil {
			s.advice = &Advice{At: rec.Timestamp, Replica: rec.Replica, ScalingAdviceData: d}
		}
	case wire.CostReport:
		var d wire.CostReportData
		if json.Unmarshal(rec.Data, &d) == nil {
			s.costs.push(costItem{At: rec.Timestamp, Data: d})
		}
	}
}

// setPolled replaces the poll results.
func (s *state) setPolled(p polled) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poll = p
}

// lastSeen is the timestamp of the newest record ingested (zero: none).
func (s *state) lastSeen() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// feedItems returns up to n feed items, newest first.
func (s *state) feedItems(n int) []json.RawMessage {
	s.mu.Lock()
	items := s.feed.newest(n, nil)
	s.mu.Unlock()
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it.Raw
	}
	return out
}

// deployments returns up to n deployments, newest first, whose node or
// path contains q (case-insensitive; "" matches all).
func (s *state) deployments(q string, n int) []Deployment {
	q = strings.ToLower(q)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploys.newest(n, func(d Deployment) bool {
		return q == "" || strings.Contains(strings.ToLower(d.Node), q) || strings.Contains(strings.ToLower(d.Path), q)
	})
}

// pausedNow records at once that consumer name was paused or resumed (the
// next poll reads the server's view).
func (s *state) pausedNow(name string, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	levels := make([]Level, len(s.poll.levels))
	for i, l := range s.poll.levels {
		if l.Consumer == name {
			l.Paused = paused
			if !paused {
				l.PauseUntil = nil
			}
		}
		levels[i] = l
	}
	s.poll.levels = levels
}
