package orchestrator_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/orchestrator"
)

// memMsg is one delivered change event held in memory. Ack confirms at
// once; any ack method settles it (a real consumer would redeliver a
// nak'ed message).
type memMsg struct {
	data    []byte
	seq     uint64
	settled atomic.Bool
}

func (m *memMsg) Data() []byte            { return m.data }
func (m *memMsg) Subject() string         { return wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded) }
func (m *memMsg) Headers() nats.Header    { return nil }
func (m *memMsg) Seq() uint64             { return m.seq }
func (m *memMsg) Deliveries() uint64      { return 1 }
func (m *memMsg) InProgress() error       { return nil }
func (m *memMsg) Nak(time.Duration) error { m.settled.Store(true); return nil }
func (m *memMsg) Term(string) error       { m.settled.Store(true); return nil }
func (m *memMsg) Ack(done func(error))    { m.settled.Store(true); done(nil) }

// memSource is an orchestrator.Source over messages in memory, where
// production uses a bus.Source on a JetStream consumer.
type memSource struct {
	mu   sync.Mutex
	msgs []*memMsg
	next int // msgs[next:] are not delivered yet
}

// Fetch hands out up to max undelivered messages; when there are none it
// waits for wait (or ctx), as a fetch from a consumer does.
func (s *memSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]wire.Message, error) {
	s.mu.Lock()
	batch := make([]wire.Message, 0, min(max, len(s.msgs)-s.next))
	for ; s.next < len(s.msgs) && len(batch) < max; s.next++ {
		batch = append(batch, s.msgs[s.next])
	}
	s.mu.Unlock()
	if len(batch) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return batch, nil
}

// Pending counts the messages not yet settled, delivered or not.
func (s *memSource) Pending(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, m := range s.msgs {
		if !m.settled.Load() {
			n++
		}
	}
	return n, nil
}

// subjectEngine renders one artifact per change: the subject in a file.
type subjectEngine struct{}

func (subjectEngine) Regenerate(_ context.Context, ch wire.Change) ([]wire.Artifact, error) {
	return []wire.Artifact{{Path: "nodes/" + ch.Event.ID + ".txt", Content: []byte(ch.Event.Subject)}}, nil
}

// mapDeployer keeps the deployed artifacts by path; content it already
// holds is a skip.
type mapDeployer struct {
	mu    sync.Mutex
	files map[string]string
}

func (d *mapDeployer) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.files[a.Path]; ok && old == string(a.Content) {
		return false, nil
	}
	wire.DeployStarted(ctx) // the write begins: deployment_started
	d.files[a.Path] = string(a.Content)
	return true, nil
}

// Example drains three change events from an in-memory Source through an
// engine and a deployer: the orchestrator needs no broker, only its
// interfaces. Not autonomous, it stops once nothing is pending.
func Example() {
	src := &memSource{}
	for i := range 3 {
		data := fmt.Appendf(nil, `{"id":"ev-%d","change_type":"node_added","subject":"urn:example:N%d"}`, i, i)
		src.msgs = append(src.msgs, &memMsg{data: data, seq: uint64(i + 1)})
	}
	dep := &mapDeployer{files: map[string]string{}}

	cfg := orchestrator.DefaultConfig()
	cfg.Autonomous = false // drain the backlog, then stop
	cfg.FetchWait = 10 * time.Millisecond
	o, err := orchestrator.New(cfg, orchestrator.Deps{Source: src, Engine: subjectEngine{}, Deployer: dep,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("new:", err)
		return
	}
	ctx := context.Background()
	if err := o.Start(ctx); err != nil {
		fmt.Println("start:", err)
		return
	}
	<-o.Done()
	if err := o.Stop(ctx); err != nil {
		fmt.Println("stop:", err)
		return
	}

	for _, path := range slices.Sorted(maps.Keys(dep.files)) {
		fmt.Println(path, dep.files[path])
	}
	s := o.Stats()
	fmt.Println("events:", s.EventsProcessed, "deployed:", s.DeploymentsCompleted, "failures:", s.Failures)
	// Output:
	// nodes/ev-0.txt urn:example:N0
	// nodes/ev-1.txt urn:example:N1
	// nodes/ev-2.txt urn:example:N2
	// events: 3 deployed: 3 failures: 0
}
