package app

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/orchestrator"
)

// The scheduling tests of the issue on a real replica: priority levels on,
// a batch of 16, eight events at once and a slow engine (5ms a call).
const (
	loadBatch = 16
	loadDelay = "engine:delay=5ms"
)

func loadConfig(mod func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.Orchestrator.PriorityLevels = true
		c.Orchestrator.AdaptiveOptimization = false
		c.Orchestrator.BatchSize = loadBatch
		c.Faults = loadDelay
		if mod != nil {
			mod(c)
		}
	}
}

// 20,000 low events queued behind the slow engine, then 50 critical ones:
// all 50 are done while more than half of the low ones are still pending,
// and the critical events' publish→done latency (done: the telemetry
// timestamp of the event's last deployment_completed) is reported.
func TestCriticalEventsOvertakeTwentyThousandLow(t *testing.T) {
	t.Parallel()
	const lows, criticals = 20000, 50
	b := setup(t, loadConfig(nil))
	dl := watchDone(t, b.nc)
	b.start(t)
	publishAt(t, b.js, wire.PriorityLow, lows)
	testkit.WaitFor(t, 30*time.Second, "low events under way", func() bool { return dl.count(wire.PriorityLow) > 0 })
	sent := publishFrom(t, b.js, wire.PriorityCritical, 0, criticals)
	testkit.WaitFor(t, 30*time.Second, "every critical event done", func() bool {
		return dl.count(wire.PriorityCritical) == criticals
	})
	pending := levelPending(t, b, wire.PriorityLow)
	lowDone := dl.count(wire.PriorityLow)
	if pending <= lows/2 {
		t.Fatalf("%d low events pending (%d done) once the %d critical ones were done, want more than %d",
			pending, lowDone, criticals, lows/2)
	}
	lat := dl.latencies(wire.PriorityCritical, sent)
	t.Logf("critical publish→done under a backlog of %d low (%s, batch %d): p50 %s, p99 %s, max %s; "+
		"low when the last critical was done: %d pending, %d done",
		lows, loadDelay, loadBatch, percentile(lat, 0.50), percentile(lat, 0.99), slices.Max(lat), pending, lowDone)
}

// With every level saturated, each level's share of the events done in a
// steady-state window is within 10% of its weight's share, relative to
// that share (critical 8/15 = 53.3% ± 5.3 points, ..., low 1/15 = 6.67% ±
// 0.67 points). The scheduler splits every fetch by smooth weighted round
// robin over known backlogs, so the shares are exact per run of 15 slots
// and the window's edges (cut across batches in flight) are the only
// noise: a few events over a window of 1,200.
func TestWeightedSharesUnderSaturation(t *testing.T) {
	t.Parallel()
	const per, lo, hi = 160, 300, 1500 // per × weight events a level; the window is ranks [lo, hi) in done order
	b := setup(t, loadConfig(nil))
	dl := watchDone(t, b.nc)
	b.start(t)
	weights := orchestrator.PriorityWeightsDefault()
	whilePaused(t, b, func() {
		for _, p := range orchestrator.Levels {
			publishAt(t, b.js, p, per*weights[p])
		}
	})
	testkit.WaitFor(t, 40*time.Second, fmt.Sprintf("%d events done", hi), func() bool { return dl.total() >= hi })
	for _, p := range orchestrator.Levels { // read after rank hi: still undelivered then, so at hi too
		if n := levelUndelivered(t, b, p); n == 0 {
			t.Fatalf("%s: nothing left undelivered once %d events were done: the level ran dry inside the window", p, hi)
		}
	}
	order := dl.order()
	wsum := 0
	for _, w := range weights {
		wsum += w
	}
	window := order[lo:hi]
	for _, p := range orchestrator.Levels {
		want := float64(weights[p]) / float64(wsum)
		share := float64(countLevel(window, p)) / float64(len(window))
		t.Logf("%-8s share %.4f, weight share %.4f (%+.1f%% relative)", p, share, want, 100*(share-want)/want)
		if math.Abs(share-want) > 0.10*want {
			t.Errorf("%s: share %.4f of %d events, want %.4f ±10%%", p, share, len(window), want)
		}
	}
}

// In strict order with the critical level saturated, low events get in
// only by aging: a low event is handed out at least every K fetches
// (PriorityAging, 4), so between two consecutive low events done the
// replica completes about K cycles (a cycle per fetch). The bound checked
// is K + MaxBatchesHeld: the batches a replica holds at once (fetched
// ahead, processing, confirming) may complete out of fetch order. The
// fetch-exact bound is checked on PrioritySource (orchestrator tests).
func TestLowEventWaitWithinAgingBound(t *testing.T) {
	t.Parallel()
	const criticals, lows = 2000, 20
	b := setup(t, loadConfig(func(c *config.Config) { c.Orchestrator.PriorityStrict = true }))
	dl := watchDone(t, b.nc)
	b.start(t)
	whilePaused(t, b, func() {
		publishAt(t, b.js, wire.PriorityCritical, criticals)
		publishAt(t, b.js, wire.PriorityLow, lows)
	})
	testkit.WaitFor(t, 40*time.Second, "every low event done", func() bool { return dl.count(wire.PriorityLow) == lows })
	if levelUndelivered(t, b, wire.PriorityCritical) == 0 { // read after the last low: saturated until then
		t.Fatal("no critical event left undelivered once every low one was done: the critical level did not stay saturated")
	}
	k := b.cfg.Orchestrator.Priority().WithDefaults().AgingCycles
	done := dl.levelDone(wire.PriorityLow)
	var worst, sum int
	var worstWall, sumWall time.Duration
	for i := 1; i < len(done); i++ {
		n := dl.cyclesIn(done[i-1], done[i])
		worst, sum = max(worst, n), sum+n
		gap := done[i].Sub(done[i-1])
		worstWall, sumWall = max(worstWall, gap), sumWall+gap
	}
	gaps := len(done) - 1
	t.Logf("strict, K=%d: between consecutive low events done, %.2f cycles on average (max %d), %s on average (max %s)",
		k, float64(sum)/float64(gaps), worst, sumWall/time.Duration(gaps), worstWall)
	if bound := k + orchestrator.MaxBatchesHeld; worst > bound {
		t.Fatalf("%d cycles between two low events done, bound K+MaxBatchesHeld = %d", worst, bound)
	}
}

// whilePaused runs publish with every level consumer paused, then resumes
// them, so that the replica finds every level's backlog at once.
func whilePaused(t *testing.T, b *bundle, publish func()) {
	t.Helper()
	ctx := testkit.Context(t, 10*time.Second)
	for _, p := range orchestrator.Levels {
		if _, err := bus.PauseLevel(ctx, b.js, b.cfg.Consumer.Name, p, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	for _, p := range orchestrator.Levels {
		if err := bus.ResumeLevel(ctx, b.js, b.cfg.Consumer.Name, p); err != nil {
			t.Fatal(err)
		}
	}
}

// levelPending is level p's consumer's events not yet acked.
func levelPending(t *testing.T, b *bundle, p wire.Priority) int {
	t.Helper()
	info := levelInfo(t, b, p)
	return int(info.NumPending) + info.NumAckPending
}

// levelUndelivered is level p's consumer's events not yet delivered.
func levelUndelivered(t *testing.T, b *bundle, p wire.Priority) uint64 {
	t.Helper()
	return levelInfo(t, b, p).NumPending
}

func levelInfo(t *testing.T, b *bundle, p wire.Priority) *jetstream.ConsumerInfo {
	t.Helper()
	ctx := testkit.Context(t, 10*time.Second)
	c, err := b.js.Consumer(ctx, wire.ChangesStream, bus.LevelConsumer(b.cfg.Consumer.Name, p))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// doneLog records from a replica's telemetry when each event was done
// (the timestamp of its last deployment_completed) and when each cycle
// with events ended (regeneration_completed).
type doneLog struct {
	mu     sync.Mutex
	done   map[string]time.Time
	levels map[wire.Priority]int // events done
	cycles []time.Time
}

// doneRecord is the part of a telemetry record doneLog reads.
type doneRecord struct {
	Type      wire.TelemetryType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      struct {
		EventID string `json:"event_id"`
		Events  int    `json:"events"`
	} `json:"data"`
}

func watchDone(t *testing.T, nc *nats.Conn) *doneLog {
	t.Helper()
	dl := &doneLog{done: map[string]time.Time{}, levels: map[wire.Priority]int{}}
	for _, typ := range []wire.TelemetryType{wire.DeploymentCompleted, wire.RegenerationCompleted} {
		sub, err := nc.Subscribe(wire.TelemetrySubjectFor(typ), dl.record)
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil { // a slow consumer would drop records
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	return dl
}

func (dl *doneLog) record(m *nats.Msg) {
	var r doneRecord
	if json.Unmarshal(m.Data, &r) != nil {
		return
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	switch {
	case r.Type == wire.DeploymentCompleted && r.Data.EventID != "":
		at, seen := dl.done[r.Data.EventID]
		if !seen {
			dl.levels[levelOf(r.Data.EventID)]++
		}
		if !seen || r.Timestamp.After(at) {
			dl.done[r.Data.EventID] = r.Timestamp
		}
	case r.Type == wire.RegenerationCompleted && r.Data.Events > 0:
		dl.cycles = append(dl.cycles, r.Timestamp)
	}
}

// levelOf is the level of an id <level>-<i> (publishFrom's).
func levelOf(id string) wire.Priority {
	p, _, _ := strings.Cut(id, "-")
	return wire.Priority(p)
}

func (dl *doneLog) count(p wire.Priority) int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.levels[p]
}

func (dl *doneLog) total() int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return len(dl.done)
}

// order is the ids of the events done, in done order.
func (dl *doneLog) order() []string {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	ids := make([]string, 0, len(dl.done))
	for id := range dl.done {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return dl.done[a].Compare(dl.done[b]) })
	return ids
}

// levelDone is when each event of level p was done, in order.
func (dl *doneLog) levelDone(p wire.Priority) []time.Time {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	var out []time.Time
	for id, at := range dl.done {
		if levelOf(id) == p {
			out = append(out, at)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// cyclesIn counts the cycles with events that ended in (from, to].
func (dl *doneLog) cyclesIn(from, to time.Time) int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	n := 0
	for _, at := range dl.cycles {
		if at.After(from) && !at.After(to) {
			n++
		}
	}
	return n
}

// latencies is, for each event <p>-<i> with sent[i] its publish time, its
// publish→done latency.
func (dl *doneLog) latencies(p wire.Priority, sent []time.Time) []time.Duration {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	out := make([]time.Duration, len(sent))
	for i, at := range sent {
		out[i] = dl.done[fmt.Sprintf("%s-%d", p, i)].Sub(at)
	}
	return out
}

func countLevel(ids []string, p wire.Priority) int {
	n := 0
	for _, id := range ids {
		if levelOf(id) == p {
			n++
		}
	}
	return n
}

// percentile is the nearest-rank q-quantile of d (q in (0, 1]); with 50
// samples the p99 is the largest.
func percentile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(math.Ceil(q*float64(len(s))))-1]
}
