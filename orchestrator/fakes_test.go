package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
)

// fakeMsg records what the orchestrator did with it.
type fakeMsg struct {
	data       []byte
	seq        uint64
	deliveries uint64
	mu         sync.Mutex
	acked      int
	naks       []time.Duration
	termed     string
}

func (m *fakeMsg) Data() []byte         { return m.data }
func (m *fakeMsg) Subject() string      { return "regen.changes.normal.node_added" }
func (m *fakeMsg) Headers() nats.Header { return nats.Header{} }
func (m *fakeMsg) Seq() uint64          { return m.seq }
func (m *fakeMsg) Deliveries() uint64   { return m.deliveries }
func (m *fakeMsg) InProgress() error    { return nil }
func (m *fakeMsg) Ack(done func(error)) {
	m.mu.Lock()
	m.acked++
	m.mu.Unlock()
	done(nil)
}
func (m *fakeMsg) Nak(d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.naks = append(m.naks, d)
	return nil
}
func (m *fakeMsg) Term(reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.termed = reason
	return nil
}

func (m *fakeMsg) state() (acked int, naks int, termed string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acked, len(m.naks), m.termed
}

// fakeSource hands out queued messages in batches. Like a consumer, it
// counts as pending both the queue and the messages handed out and not
// yet acked, nak'ed or terminated.
type fakeSource struct {
	mu       sync.Mutex
	queue    []wire.Message
	out      []wire.Message
	fetchErr error
	fetches  atomic.Int64
}

func (s *fakeSource) push(ms ...wire.Message) {
	s.mu.Lock()
	s.queue = append(s.queue, ms...)
	s.mu.Unlock()
}

func (s *fakeSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]wire.Message, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetchErr != nil {
		return nil, s.fetchErr
	}
	n := min(max, len(s.queue))
	out := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.out = append(s.out, out...)
	if n == 0 {
		// Behave like a real fetch: wait (briefly) for work or ctx.
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(min(wait, 5*time.Millisecond)):
		}
		s.mu.Lock()
	}
	return out, nil
}

func (s *fakeSource) Pending(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetchErr != nil {
		return 0, s.fetchErr
	}
	n := uint64(len(s.queue))
	for _, m := range s.out {
		if st, ok := m.(interface{ state() (int, int, string) }); ok {
			if acked, naks, termed := st.state(); acked == 0 && naks == 0 && termed == "" {
				n++
			}
		}
	}
	return n, nil
}

// fakeEngine counts concurrency and can fail or block.
type fakeEngine struct {
	inFlight, peak, calls atomic.Int64
	fail                  func(ch wire.Change) error
	block                 chan struct{} // when non-nil, each call waits on it (or ctx)
	artifacts             int
}

func (e *fakeEngine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	e.calls.Add(1)
	raisePeak(&e.peak, e.inFlight.Add(1))
	defer e.inFlight.Add(-1)
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if e.fail != nil {
		if err := e.fail(ch); err != nil {
			return nil, err
		}
	}
	arts := make([]wire.Artifact, e.artifacts)
	for i := range arts {
		arts[i] = wire.Artifact{Path: fmt.Sprintf("%s/%d", ch.Event.ID, i), EventID: ch.Event.ID}
	}
	return arts, nil
}

// fakeDeployer records deploys per path; seen paths are skipped. Like a
// real deployer it calls wire.DeployStarted before a write, not for a skip.
type fakeDeployer struct {
	mu   sync.Mutex
	seen map[string]int
	fail func(a wire.Artifact) error
}

func (d *fakeDeployer) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	if d.fail != nil {
		if err := d.fail(a); err != nil {
			return false, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]int{}
	}
	d.seen[a.Path]++
	if d.seen[a.Path] == 1 {
		wire.DeployStarted(ctx)
	}
	return d.seen[a.Path] == 1, nil
}

// fakeDLQ records dead letters.
type fakeDLQ struct {
	mu      sync.Mutex
	reasons []string
	err     error
}

func (q *fakeDLQ) DeadLetter(ctx context.Context, m wire.Message, reason string, cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.reasons = append(q.reasons, reason)
	return nil
}

func (q *fakeDLQ) all() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.reasons...)
}

// fakeTelemetry records events by type.
type fakeTelemetry struct {
	mu     sync.Mutex
	events []wire.TelemetryEvent
}

func (t *fakeTelemetry) Publish(ev wire.TelemetryEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
	return nil
}

func (t *fakeTelemetry) Flush(context.Context) error { return nil }

// paths lists the "path" of every event of type typ, in order.
func (t *fakeTelemetry) paths(typ wire.TelemetryType) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ev := range t.events {
		if ev.Type == typ {
			out = append(out, pathOf(ev.Data))
		}
	}
	return out
}

func (t *fakeTelemetry) count(typ wire.TelemetryType) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, ev := range t.events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

var errTransient = errors.New("transient")

func validMsg(i int) *fakeMsg {
	ev := map[string]any{"id": fmt.Sprintf("ev-%d", i), "change_type": "node_added",
		"subject": fmt.Sprintf("urn:x:%d", i), "timestamp": time.Now().Format(time.RFC3339Nano)}
	data, _ := json.Marshal(ev)
	return &fakeMsg{data: data, seq: uint64(i + 1), deliveries: 1}
}

// pathOf returns the path of a deployment_* payload, "" for any other.
func pathOf(p wire.TelemetryPayload) string {
	switch d := p.(type) {
	case wire.DeploymentStartedData:
		return d.Path
	case wire.DeploymentCompletedData:
		return d.Path
	case wire.DeploymentFailedData:
		return d.Path
	}
	return ""
}

// ruleOf returns the rule of a performance_warning or performance_alert
// payload, "" for any other.
func ruleOf(p wire.TelemetryPayload) string {
	switch d := p.(type) {
	case wire.CycleOverTargetData:
		return d.Rule
	case wire.IntervalOverTargetData:
		return d.Rule
	case wire.LowSuccessRateData:
		return d.Rule
	case wire.StalledData:
		return d.Rule
	case wire.MemoryPressureData:
		return d.Rule
	}
	return ""
}

// wireFields returns p as it goes on the wire, decoded generically.
func wireFields(t *testing.T, p wire.TelemetryPayload) map[string]any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
