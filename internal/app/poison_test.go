package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/workers/graph"
)

// poison is one event that can never succeed: where it is published, what
// it says, and the reason it must be dead-lettered under.
type poison struct {
	id, subject, reason string
	data                []byte
}

// poisonClasses builds four events of every data-caused failure the
// stock templates and a dir deployer can meet: invalid input of each kind,
// an artifact path too long for a file system, and a path a directory in
// the deploy root is in the way of (conflictPath makes that directory).
func poisonClasses(t *testing.T, conflictPath func(subject string) string) []poison {
	t.Helper()
	node := func(id, subject string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":%q}`, id, subject)
	}
	normal := wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded)
	var out []poison
	for i := range 4 {
		p := func(class string) string { return fmt.Sprintf("poison-%s-%d", class, i) }
		conflict := "urn:poison:Conflict" + fmt.Sprint(i)
		conflictPath(conflict)
		out = append(out,
			poison{p("json"), normal, wire.ReasonBadJSON, []byte(`{"id":"` + p("json") + `",`)},
			poison{p("noid"), normal, wire.ReasonMissingID, []byte(`{"change_type":"node_added","subject":"urn:x"}`)},
			poison{p("type"), wire.ChangeSubject(wire.PriorityNormal, "node_exploded"), wire.ReasonUnknownChangeType,
				fmt.Appendf(nil, `{"id":%q,"change_type":"node_exploded","subject":"urn:x"}`, p("type"))},
			poison{p("edge"), wire.ChangeSubject(wire.PriorityNormal, wire.EdgeAdded), wire.ReasonEdgeIncomplete,
				fmt.Appendf(nil, `{"id":%q,"change_type":"edge_added","subject":"urn:x"}`, p("edge"))},
			poison{p("big"), normal, wire.ReasonOversize,
				fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":"urn:x","properties":{"k":%q}}`,
					p("big"), strings.Repeat("x", 3000))},
			poison{p("utf8"), normal, wire.ReasonBadUTF8, []byte(`{"id":"` + p("utf8") + `","change_type":"node_added","subject":"urn:x:` + "\xff\xfe" + `"}`)},
			poison{p("natsubj"), "regen.changes.urgent.node_added", wire.ReasonBadNATSSubject, node(p("natsubj"), "urn:x")},
			poison{p("mismatch"), wire.ChangeSubject(wire.PriorityNormal, wire.NodeRemoved), wire.ReasonSubjectMismatch,
				node(p("mismatch"), "urn:x")},
			poison{p("long"), normal, wire.ReasonUnsafePath,
				node(p("long"), "urn:poison:"+strings.Repeat("Long", 60)+fmt.Sprint(i))},
			poison{p("conflict"), normal, wire.ReasonPathConflict, node(p("conflict"), conflict)},
		)
	}
	return out
}

// Forty poison events of every data-caused class interleaved with a
// hundred valid ones: every valid event is deployed, every poison event is
// in the DLQ with its own reason after its first delivery (an unknown
// priority, which no level consumer delivers, undelivered), and no circuit
// opens because of the data.
func TestPoisonNeverTakesAValidEventWithIt(t *testing.T) {
	t.Parallel()
	const valid = 100
	b := setup(t, func(c *config.Config) {
		fastRetries(c)
		c.Orchestrator.MaxPayload = 2048
		c.Orchestrator.MaxDeliver = 3
	})
	poisons := poisonClasses(t, conflictDir(t, b.out))
	dl := watchDeploys(t, b.nc)
	svc := b.start(t)
	publishMixed(t, b, poisons, syntheticNodes(valid))
	testkit.WaitFor(t, 60*time.Second, "every valid event deployed and every poison dead-lettered", func() bool {
		missing, _ := dl.exactlyOnce(valid)
		return missing == 0 && len(testkit.DeadLetters(t, b.js)) >= len(poisons)
	})
	want := map[string]string{}
	for _, p := range poisons {
		want[p.id] = p.reason
	}
	strays := 0
	for _, d := range testkit.DeadLetters(t, b.js) {
		deliveries := uint64(1)
		if d.Reason == wire.ReasonBadNATSSubject {
			// No level consumer delivers an unknown priority: the reaper's
			// sweep dead-letters it undelivered.
			deliveries = 0
			strays++
		}
		if d.Reason != want[d.ID] || d.Deliveries != deliveries {
			t.Errorf("dead letter %s: reason %s after %d deliveries, want %s after %d", d.ID, d.Reason,
				d.Deliveries, want[d.ID], deliveries)
		}
		delete(want, d.ID)
	}
	if len(want) != 0 {
		t.Errorf("not dead-lettered: %v", want)
	}
	if len(dl.transitions) != 0 {
		t.Errorf("breaker transitions caused by data: %v", dl.transitions)
	}
	if s := svc.Orchestrator().Stats(); s.Rejected != int64(len(poisons)-strays) || s.Deferred != 0 {
		t.Errorf("stats = %+v: want %d rejected, none deferred", s, len(poisons)-strays)
	}
}

// conflictDir returns a function that makes a directory at the path the
// stock go-struct template writes for a subject.
func conflictDir(t *testing.T, root string) func(string) string {
	t.Helper()
	set, err := graph.LoadTemplates("../../examples/templates")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, ok := set.Get("go-struct")
	if !ok {
		t.Fatal("no go-struct template")
	}
	return func(subject string) string {
		n := graph.Node{Subject: subject}
		p, err := tmpl.OutputPath(context.Background(), graph.RenderData{Node: n.View()})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, p, "occupied"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// publishMixed publishes the poison and the valid events in a random
// interleaving, each with its id as Nats-Msg-Id.
func publishMixed(t *testing.T, b *bundle, poisons []poison, valid [][]byte) {
	t.Helper()
	type pub struct {
		id, subject string
		data        []byte
	}
	var all []pub
	for _, p := range poisons {
		all = append(all, pub{p.id, p.subject, p.data})
	}
	for i, data := range valid {
		all = append(all, pub{idOf(i), wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded), data})
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	ctx := testkit.Context(t, 30*time.Second)
	for _, p := range all {
		msg := nats.NewMsg(p.subject)
		msg.Data = p.data
		msg.Header.Set(nats.MsgIdHdr, p.id)
		if _, err := b.js.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish %s: %v", p.id, err)
		}
	}
}
