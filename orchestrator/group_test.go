package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// fakeGroupEngine is a GroupEngine that groups by node (the subject) and
// records, by stream sequence, every RegenerateGroup and Regenerate call.
type fakeGroupEngine struct {
	mu      sync.Mutex
	groups  [][]uint64
	singles []uint64
	// errOf is each change's own error (nil: applied); fail fails a whole
	// group; block, when non-nil, holds every group call until closed.
	errOf func(ch wire.Change) error
	fail  error
	block chan struct{}
}

func (e *fakeGroupEngine) GroupKey(ev wire.ChangeEvent) string { return ev.Subject }

func (e *fakeGroupEngine) Regenerate(_ context.Context, ch wire.Change) ([]wire.Artifact, error) {
	e.mu.Lock()
	e.singles = append(e.singles, ch.Seq)
	e.mu.Unlock()
	if e.errOf != nil {
		if err := e.errOf(ch); err != nil {
			return nil, err
		}
	}
	return []wire.Artifact{nodeArtifact(ch)}, nil
}

func (e *fakeGroupEngine) RegenerateGroup(ctx context.Context, chs []wire.Change) ([]wire.Artifact, []error, error) {
	seqs := make([]uint64, len(chs))
	for i, ch := range chs {
		seqs[i] = ch.Seq
	}
	e.mu.Lock()
	e.groups = append(e.groups, seqs)
	e.mu.Unlock()
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	if e.fail != nil {
		return nil, nil, e.fail
	}
	errs := make([]error, len(chs))
	for i, ch := range chs {
		if e.errOf != nil {
			errs[i] = e.errOf(ch)
		}
	}
	return []wire.Artifact{nodeArtifact(chs[len(chs)-1])}, errs, nil
}

// calls returns the recorded group and single calls.
func (e *fakeGroupEngine) calls() (groups [][]uint64, singles []uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.groups), slices.Clone(e.singles)
}

// nodeArtifact is the one artifact of ch's node.
func nodeArtifact(ch wire.Change) wire.Artifact {
	return wire.Artifact{Path: "nodes/" + strings.TrimPrefix(ch.Event.Subject, "urn:x:"),
		Node: ch.Event.Subject, EventID: ch.Event.ID, Revision: ch.Seq}
}

// nodeMsg is a valid node_added for node at stream sequence seq, whose
// event id is ev-<seq>.
func nodeMsg(seq uint64, node string) *fakeMsg {
	data, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("ev-%d", seq), "change_type": "node_added",
		"subject": "urn:x:" + node, "timestamp": time.Now().Format(time.RFC3339Nano)})
	return &fakeMsg{data: data, seq: seq, deliveries: 1}
}

type groupBundle struct {
	src *fakeSource
	eng *fakeGroupEngine
	dep *fakeDeployer
	dlq *fakeDLQ
	tel *fakeTelemetry
	o   *Orchestrator
}

func setupGroup(t *testing.T, mod func(*Config)) *groupBundle {
	t.Helper()
	b := &groupBundle{src: &fakeSource{}, eng: &fakeGroupEngine{}, dep: &fakeDeployer{}, dlq: &fakeDLQ{},
		tel: &fakeTelemetry{}}
	o, err := New(cfgWith(mod), Deps{Source: b.src, Engine: b.eng, Deployer: b.dep,
		DeadLetters: b.dlq, Telemetry: b.tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	b.o = o
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	return b
}

// cycle runs one cycle over msgs, outside the loop.
func (b *groupBundle) cycle(msgs ...*fakeMsg) ParallelExecution {
	ctx := context.Background()
	return b.cycleIn(&run{fetchCtx: ctx, workCtx: ctx}, msgs...)
}

func (b *groupBundle) cycleIn(r *run, msgs ...*fakeMsg) ParallelExecution {
	batch := make([]wire.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = m
	}
	return b.o.executeCycle(r, batch, nil)
}

// counts are the outcome counters of a ParallelExecution.
type counts struct{ succeeded, skipped, failed, rejected, deferred, deployments int }

// checkCounts checks pe's counters, and that its outcomes add up to its events.
func checkCounts(t *testing.T, pe ParallelExecution, want counts) {
	t.Helper()
	got := counts{pe.Succeeded, pe.Skipped, pe.Failed, pe.Rejected, pe.Deferred, pe.Deployments}
	if got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
	if sum := pe.Succeeded + pe.Skipped + pe.Failed + pe.Rejected + pe.Deferred; sum != pe.Events {
		t.Fatalf("outcomes add up to %d for %d events", sum, pe.Events)
	}
}

// checkMsg checks what was done with m: acks, naks and the term reason.
func checkMsg(t *testing.T, m *fakeMsg, acked, naks int, termed string) {
	t.Helper()
	if a, n, term := m.state(); a != acked || n != naks || term != termed {
		t.Fatalf("event %d: acked %d, naks %d, termed %q; want %d, %d, %q", m.seq, a, n, term, acked, naks, termed)
	}
}

// eventIDs lists the event ids of the telemetry events of type typ.
func (t *fakeTelemetry) eventIDs(typ wire.TelemetryType) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ev := range t.events {
		if ev.Type != typ {
			continue
		}
		switch d := ev.Data.(type) {
		case wire.EventRejectedData:
			out = append(out, d.EventID)
		case wire.RegenerationFailedData:
			out = append(out, d.EventID)
		case wire.DeploymentCompletedData:
			out = append(out, d.EventID)
		case wire.DeploymentFailedData:
			out = append(out, d.EventID)
		}
	}
	return out
}

func TestGroupedCycleRegeneratesEachNodeOnce(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(c *Config) { c.MaxConcurrent = 4 })
	// Three events for A, two for B, one for C; A's out of order in the batch.
	msgs := []*fakeMsg{nodeMsg(3, "A"), nodeMsg(2, "B"), nodeMsg(1, "A"), nodeMsg(4, "C"),
		nodeMsg(5, "B"), nodeMsg(6, "A")}
	pe := b.cycle(msgs...)
	groups, singles := b.eng.calls()
	slices.SortFunc(groups, func(x, y []uint64) int { return len(y) - len(x) })
	if want := [][]uint64{{1, 3, 6}, {2, 5}}; !slices.EqualFunc(groups, want, slices.Equal) {
		t.Fatalf("RegenerateGroup calls = %v, want %v", groups, want)
	}
	if !slices.Equal(singles, []uint64{4}) {
		t.Fatalf("Regenerate calls = %v, want [4]", singles)
	}
	for _, m := range msgs {
		checkMsg(t, m, 1, 0, "")
	}
	checkCounts(t, pe, counts{succeeded: 6, deployments: 3})
	deployed := b.tel.eventIDs(wire.DeploymentCompleted)
	slices.Sort(deployed)
	if want := []string{"ev-4", "ev-5", "ev-6"}; !slices.Equal(deployed, want) {
		t.Fatalf("deployment_completed for %v, want %v (one per node, under its last event)", deployed, want)
	}
}

// A group whose artifacts are all deployed already is skipped, every event.
func TestGroupThatDeploysNothingIsSkipped(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(*Config) {})
	checkCounts(t, b.cycle(nodeMsg(1, "A"), nodeMsg(2, "A")), counts{succeeded: 2, deployments: 1})
	checkCounts(t, b.cycle(nodeMsg(3, "A"), nodeMsg(4, "A")), counts{skipped: 2})
}

// Each change's own error settles only its event; the others follow the
// group's deploy and are acked.
func TestGroupChangeErrorsSettleOnlyTheirEvent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		err          error
		naks         int
		termed       string
		want         counts
		rejected     []string
		regenFailure []string
	}{
		{name: "permanent", err: wire.PermanentReason(wire.ReasonNodeTooLarge, errors.New("too large")),
			termed: wire.ReasonNodeTooLarge, want: counts{succeeded: 2, rejected: 1, deployments: 1},
			rejected: []string{"ev-2"}},
		{name: "transient", err: errTransient, naks: 1,
			want: counts{succeeded: 2, failed: 1, deployments: 1}, regenFailure: []string{"ev-2"}},
		{name: "deferred", err: fmt.Errorf("node busy: %w", wire.ErrDeferred), naks: 1,
			want: counts{succeeded: 2, deferred: 1, deployments: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupGroup(t, func(*Config) {})
			b.eng.errOf = func(ch wire.Change) error {
				if ch.Seq == 2 {
					return c.err
				}
				return nil
			}
			m1, m2, m3 := nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "A")
			checkCounts(t, b.cycle(m1, m2, m3), c.want)
			checkMsg(t, m1, 1, 0, "")
			checkMsg(t, m2, 0, c.naks, c.termed)
			checkMsg(t, m3, 1, 0, "")
			if got := b.tel.eventIDs(wire.EventRejected); !slices.Equal(got, c.rejected) {
				t.Fatalf("event_rejected for %v, want %v", got, c.rejected)
			}
			if got := b.tel.eventIDs(wire.RegenerationFailed); !slices.Equal(got, c.regenFailure) {
				t.Fatalf("regeneration_failed for %v, want %v", got, c.regenFailure)
			}
			if got := b.tel.eventIDs(wire.DeploymentCompleted); !slices.Equal(got, []string{"ev-3"}) {
				t.Fatalf("deployment_completed for %v, want [ev-3]", got)
			}
		})
	}
}

// A group-wide error or a failed deploy fails every event of the group,
// and no other.
func TestGroupErrorFailsTheWholeGroup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		prepare func(b *groupBundle)
		want    counts
		termed  string
	}{
		{name: "transient", prepare: func(b *groupBundle) { b.eng.fail = errTransient },
			want: counts{succeeded: 1, failed: 2, deployments: 1}},
		{name: "permanent", prepare: func(b *groupBundle) { b.eng.fail = wire.Permanent(errors.New("bad model")) },
			want: counts{succeeded: 1, rejected: 2, deployments: 1}, termed: wire.ReasonPermanent},
		{name: "deploy", prepare: func(b *groupBundle) {
			b.dep.fail = func(a wire.Artifact) error {
				if a.Node == "urn:x:A" {
					return errTransient
				}
				return nil
			}
		}, want: counts{succeeded: 1, failed: 2, deployments: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setupGroup(t, func(*Config) {})
			c.prepare(b)
			a1, a2, other := nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "B")
			checkCounts(t, b.cycle(a1, a2, other), c.want)
			naks := 1
			if c.termed != "" {
				naks = 0
			}
			checkMsg(t, a1, 0, naks, c.termed)
			checkMsg(t, a2, 0, naks, c.termed)
			checkMsg(t, other, 1, 0, "")
		})
	}
}

// An invalid message and one whose budget is spent are settled alone, with
// their reasons, and never reach the engine; the groups go on without them.
func TestGroupedCycleSettlesInvalidAndSpentMessagesAlone(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(c *Config) { c.MaxDeliver = 3 })
	bad := &fakeMsg{data: []byte(`{"id":`), seq: 2, deliveries: 1}
	spent := nodeMsg(4, "A")
	spent.deliveries = 4
	msgs := []*fakeMsg{nodeMsg(1, "A"), bad, nodeMsg(3, "A"), spent, nodeMsg(5, "B"), nodeMsg(6, "B")}
	pe := b.cycle(msgs...)
	groups, singles := b.eng.calls()
	slices.SortFunc(groups, func(x, y []uint64) int { return int(x[0]) - int(y[0]) })
	if want := [][]uint64{{1, 3}, {5, 6}}; !slices.EqualFunc(groups, want, slices.Equal) || len(singles) != 0 {
		t.Fatalf("RegenerateGroup calls = %v, Regenerate calls = %v; want %v and none", groups, singles, want)
	}
	checkMsg(t, bad, 0, 0, wire.ReasonBadJSON)
	checkMsg(t, spent, 0, 0, wire.ReasonMaxDeliveries)
	for _, m := range []*fakeMsg{msgs[0], msgs[2], msgs[4], msgs[5]} {
		checkMsg(t, m, 1, 0, "")
	}
	checkCounts(t, pe, counts{succeeded: 4, rejected: 2, deployments: 2})
	if got := b.dlq.all(); len(got) != 2 {
		t.Fatalf("dead letters %v, want the invalid and the spent one", got)
	}
}

// Once Stop has begun, a group not started is released whole.
func TestGroupNotStartedIsReleased(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(*Config) {})
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	msgs := []*fakeMsg{nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "B")}
	pe := b.cycleIn(&run{fetchCtx: stopped, workCtx: context.Background()}, msgs...)
	checkCounts(t, pe, counts{deferred: 3})
	for _, m := range msgs {
		checkMsg(t, m, 0, 1, "")
	}
	if groups, singles := b.eng.calls(); len(groups)+len(singles) != 0 {
		t.Fatalf("engine called: %v, %v", groups, singles)
	}
}

// The heartbeat keeps every message of a group in progress while the group
// is being worked on.
func TestHeartbeatCoversEveryMessageOfAGroup(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(c *Config) { c.AckWait = 2 * time.Millisecond })
	b.eng.block = make(chan struct{})
	msgs := []*beatMsg{{fakeMsg: nodeMsg(1, "A")}, {fakeMsg: nodeMsg(2, "A")}, {fakeMsg: nodeMsg(3, "A")}}
	batch := []wire.Message{msgs[0], msgs[1], msgs[2]}
	ctx := context.Background()
	finished := make(chan ParallelExecution)
	go func() { finished <- b.o.executeCycle(&run{fetchCtx: ctx, workCtx: ctx}, batch, nil) }()
	testkit.WaitFor(t, waitLimit, "a heartbeat for every message of the group", func() bool {
		for _, m := range msgs {
			if m.beats.Load() == 0 {
				return false
			}
		}
		return true
	})
	close(b.eng.block)
	checkCounts(t, <-finished, counts{succeeded: 3, deployments: 1})
}

// A group takes one gate slot: with one slot, two groups run one after
// the other, never together.
func TestGroupTakesOneSlot(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(c *Config) { c.MaxConcurrent, c.AdaptiveOptimization = 1, false })
	b.eng.block = make(chan struct{})
	msgs := []*fakeMsg{nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "B"), nodeMsg(4, "B")}
	finished := make(chan ParallelExecution)
	go func() { finished <- b.cycle(msgs...) }()
	testkit.WaitFor(t, waitLimit, "the first group", func() bool { g, _ := b.eng.calls(); return len(g) == 1 })
	if n := b.o.InFlight(); n != 2 {
		t.Errorf("in flight %d, want the 2 events of the first group", n)
	}
	close(b.eng.block)
	pe := <-finished
	checkCounts(t, pe, counts{succeeded: 4, deployments: 2})
	if pe.AchievedParallelism != 1 {
		t.Fatalf("achieved parallelism %d, want 1", pe.AchievedParallelism)
	}
}

// The loop runs grouped cycles: the totals count every event once and
// every deployment once.
func TestLoopRunsGroupedCycles(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(c *Config) { c.BatchSize = 8 })
	b.src.push(nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "B"), nodeMsg(4, "A"), nodeMsg(5, "C"))
	if err := b.o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "every event", func() bool { return b.o.Stats().EventsProcessed == 5 })
	if err := b.o.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := b.o.Stats(); s.DeploymentsCompleted != 3 || s.Failures+s.Rejected+s.Deferred != 0 {
		t.Fatalf("stats = %+v, want 5 events and 3 deployments, nothing failed", s)
	}
}

func TestChangeErrsWantsOneErrorPerChange(t *testing.T) {
	t.Parallel()
	if errs, err := changeErrs(nil, 3); err != nil || len(errs) != 3 {
		t.Fatalf("no errors for 3 changes = %v, %v; want 3 nil errors", errs, err)
	}
	if _, err := changeErrs([]error{nil, errTransient}, 3); err == nil {
		t.Fatal("2 errors for 3 changes accepted")
	}
	if got := lead([]error{nil, nil, errTransient}); got != 1 {
		t.Fatalf("lead = %d, want the last applied change, 1", got)
	}
	if got := lead([]error{errTransient, errTransient}); got != 1 {
		t.Fatalf("lead = %d, want the last change when none was applied", got)
	}
}
