package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// snapshot returns every node's JSON by subject.
func snapshot(t *testing.T, b *testkit.Bundle, m *Model) map[string]string {
	t.Helper()
	out := map[string]string{}
	for nr, err := range m.All(b.Ctx) {
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(nr.Node)
		out[nr.Node.Subject] = string(data)
	}
	return out
}

func TestModelConvergesWhateverTheOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	changes := testkit.LoadChanges(t, "testdata/foaf.jsonl")[:200]
	// Add conflicting writes: later seqs must win whatever the order.
	changes = append(changes,
		testkit.NodeChange(1001, wire.NodeUpdated, "http://xmlns.com/foaf/0.1/Agent", map[string]any{"rdfs:label": "Agent2", "vs:term_status": nil}),
		testkit.NodeChange(1002, wire.NodeRemoved, "http://xmlns.com/foaf/0.1/Document", nil),
		testkit.EdgeChange(1003, wire.EdgeRemoved, "http://xmlns.com/foaf/0.1/Agent", "rdf:type", "http://www.w3.org/2002/07/owl#Class"),
	)
	var want map[string]string
	for i := range 4 {
		m := newModel(t, b, fmt.Sprintf("MODEL_%d", i))
		order := append([]wire.Change(nil), changes...)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		rng.Shuffle(len(order), func(a, c int) { order[a], order[c] = order[c], order[a] })
		for _, ch := range order {
			if _, _, err := m.Apply(b.Ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
		got := snapshot(t, b, m)
		if i == 0 {
			want = got
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order %d converged to a different model", i)
		}
	}
	checkConverged(t, want)
}

func checkConverged(t *testing.T, snap map[string]string) {
	t.Helper()
	var agent, doc Node
	_ = json.Unmarshal([]byte(snap["http://xmlns.com/foaf/0.1/Agent"]), &agent)
	_ = json.Unmarshal([]byte(snap["http://xmlns.com/foaf/0.1/Document"]), &doc)
	v := agent.View()
	if v.Prop("rdfs:label") != "Agent2" || v.Prop("vs:term_status") != nil {
		t.Errorf("Agent props = %v", v.Props)
	}
	if v.Has("rdf:type", "http://www.w3.org/2002/07/owl#Class") {
		t.Error("removed edge still present")
	}
	if !v.Has("rdf:type", "http://www.w3.org/2000/01/rdf-schema#Class") {
		t.Error("edge missing")
	}
	if !doc.Removed() || doc.View().Prop("rdfs:label") != "Document" {
		t.Errorf("Document = %+v", doc)
	}
}

func TestModelApplyIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newModel(t, b, "MODEL")
	ch := testkit.NodeChange(5, wire.NodeAdded, "urn:x:A", map[string]any{"name": "A"})
	rev1, applied, err := m.Apply(b.Ctx, ch)
	if err != nil || !applied || rev1 == 0 {
		t.Fatalf("first apply: rev %d applied %v err %v", rev1, applied, err)
	}
	rev2, applied, err := m.Apply(b.Ctx, ch)
	if err != nil || applied || rev2 != rev1 {
		t.Fatalf("second apply: rev %d applied %v err %v", rev2, applied, err)
	}
	older := testkit.NodeChange(4, wire.NodeUpdated, "urn:x:A", map[string]any{"name": "old"})
	if _, applied, _ := m.Apply(b.Ctx, older); applied {
		t.Fatal("older change applied over newer")
	}
	if _, _, err := m.Apply(b.Ctx, testkit.NodeChange(0, wire.NodeAdded, "urn:x:B", nil)); err == nil {
		t.Fatal("seq 0 accepted")
	}
	n, rev, err := m.Get(b.Ctx, "urn:x:A")
	if err != nil || rev != rev1 || n.View().Prop("name") != "A" {
		t.Fatalf("get: %+v %d %v", n, rev, err)
	}
	if _, _, err := m.Get(b.Ctx, "urn:x:none"); err == nil {
		t.Fatal("get of unknown subject succeeded")
	}
}

func TestModelConcurrentApply(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Two Model values on one bucket act like two replicas.
	kv := b.KV(t, "MODEL")
	replicas := []*Model{NewModel(kv), NewModel(kv)}
	const writers, perWriter = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				seq := uint64(w*perWriter + i + 1)
				props := map[string]any{fmt.Sprintf("p%d_%d", w, i): seq, "shared": seq}
				_, _, err := replicas[w%2].Apply(b.Ctx, testkit.NodeChange(seq, wire.NodeUpdated, "urn:x:hot", props))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, _, err := replicas[0].Get(b.Ctx, "urn:x:hot")
	if err != nil {
		t.Fatal(err)
	}
	v := n.View()
	if len(v.Props) != writers*perWriter+1 || v.Prop("shared") != float64(writers*perWriter) {
		t.Fatalf("lost writes: %d props, shared=%v", len(v.Props), v.Prop("shared"))
	}
}

func TestNodeView(t *testing.T) {
	t.Parallel()
	n := Node{Subject: "http://ex.org/ns#Thing", Alive: true, AliveSeq: 1,
		Props: map[string]Prop{"a": {Value: []any{"x", "y"}, Seq: 1}, "gone": {Seq: 2, Deleted: true}},
		Edges: map[string]Edge{
			EdgeKey("p", "http://ex.org/z"): {Predicate: "p", Object: "http://ex.org/z", Present: true},
			EdgeKey("p", "http://ex.org/b"): {Predicate: "p", Object: "http://ex.org/b", Present: true},
			EdgeKey("q", "urn:c"):           {Predicate: "q", Object: "urn:c"},
		}}
	v := n.View()
	if v.LocalName != "Thing" || v.Text("a") != "x; y" || v.First("a") != "x" || v.Prop("gone") != nil {
		t.Fatalf("view = %+v", v)
	}
	if got := v.Out("p"); !reflect.DeepEqual(got, []string{"http://ex.org/b", "http://ex.org/z"}) {
		t.Fatalf("Out = %v", got)
	}
	if len(v.Edges) != 2 || v.Edges[0].ObjectLocal != "b" {
		t.Fatalf("edges = %+v", v.Edges)
	}
	for in, want := range map[string]string{"_:b0": "_:b0", "http://x/": "", "urn:a:b": "urn:a:b"} {
		if got := LocalName(in); got != want {
			t.Errorf("LocalName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Properties that cannot be decoded make the change invalid (a permanent
// error: dead-lettered, never retried) and leave the model untouched.
func TestModelRefusesUndecodableProperties(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newModel(t, b, "MODEL")
	ev, err := wire.DecodeChangeEvent([]byte(`{"id":"a","change_type":"node_added","subject":"urn:x:A","properties":{"n":1e400}}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, applied, err := m.Apply(b.Ctx, wire.Change{Event: ev, Seq: 1})
	if applied || !errors.Is(err, wire.ErrInvalidEvent) {
		t.Fatalf("apply = applied %v, %v; want an invalid-event error", applied, err)
	}
	if _, _, err := m.Get(b.Ctx, "urn:x:A"); err == nil {
		t.Fatal("the node was written")
	}
}

// A node that grows past what the server stores is refused for good: every
// replica would fail the same way on every delivery.
func TestModelRefusesANodeTooLargeToStore(t *testing.T) {
	t.Parallel()
	srv := testkit.StartNATS(t, &server.Options{JetStream: true, MaxPayload: 64 << 10})
	_, js := testkit.Client(t, srv.ClientURL())
	var err error
	m := NewModel(testkit.KV(t, js, "MODEL"))
	for seq := uint64(1); seq <= 8 && err == nil; seq++ {
		props := map[string]any{}
		for i := range 1000 {
			props[fmt.Sprintf("p%d-%d", seq, i)] = "0123456789"
		}
		_, _, err = m.Apply(testkit.Context(t, 30*time.Second), testkit.NodeChange(seq, wire.NodeUpdated, "urn:x:big", props))
	}
	if !wire.IsPermanent(err) || wire.ReasonOf(err) != wire.ReasonNodeTooLarge {
		t.Fatalf("err = %v (reason %s), want permanent %s", err, wire.ReasonOf(err), wire.ReasonNodeTooLarge)
	}
}
