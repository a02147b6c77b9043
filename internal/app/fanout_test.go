package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// domainChanges are n changes to FOAF properties' domains and labels, as
// JSON lines: each re-renders the classes that read them.
func domainChanges(n int) [][]byte {
	const foaf = "http://xmlns.com/foaf/0.1/"
	props := []string{"familyName", "knows", "mbox", "homepage", "age"}
	classes := []string{"Document", "Organization", "Project", "Group"}
	var out [][]byte
	for i := range n {
		p, c := foaf+props[i%len(props)], foaf+classes[i%len(classes)]
		ev := map[string]any{"id": fmt.Sprintf("change-%d", i), "change_type": "edge_added",
			"subject": p, "predicate": "rdfs:domain", "object": c}
		switch i % 3 {
		case 1:
			ev["change_type"] = "edge_removed"
		case 2:
			ev = map[string]any{"id": fmt.Sprintf("change-%d", i), "change_type": "node_updated",
				"subject": p, "properties": map[string]any{"rdfs:comment": fmt.Sprintf("comment %d", i)}}
		}
		data, _ := json.Marshal(ev)
		out = append(out, data)
	}
	return out
}

// Two replicas keep the examples/gopkg package of FOAF equal to a full
// render while its properties' domains change: the derived re-renders go
// out as artifact_stale events and both replicas take some.
func TestTwoReplicasKeepAGoPackageEqualToAFullRender(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) { c.Templates = "../../examples/gopkg/templates" })
	one := b.start(t)
	b.cfg.Orchestrator.Replica = "test-2"
	two := b.start(t)
	events := append(readEvents(t, "testdata/foaf.jsonl"), domainChanges(60)...)
	publish(t, b.js, events)
	processed := func() int64 {
		return one.Orchestrator().Stats().EventsProcessed + two.Orchestrator().Stats().EventsProcessed
	}
	testkit.WaitFor(t, 90*time.Second, "every event and re-render done", func() bool {
		return processed() >= int64(len(events)) && streamMsgs(t, b.js, wire.ChangesStream) == 0
	})
	for _, svc := range []*Service{one, two} {
		if s := svc.Orchestrator().Stats(); s.Failures != 0 || s.EventsProcessed == 0 {
			t.Fatalf("replica stats = %+v: want events on both, no failure", s)
		}
	}
	if stale := processed() - int64(len(events)); stale <= 0 {
		t.Fatalf("%d artifact_stale events processed, want some", stale)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Render(testkit.Context(t, 60*time.Second), RenderConfig{Templates: b.cfg.Templates, Out: out,
		Inputs: []io.Reader{bytes.NewReader(bytes.Join(events, []byte("\n")))}}); err != nil {
		t.Fatal(err)
	}
	want := tree(t, out)
	if len(want) < 10 {
		t.Fatalf("the full render has %d files", len(want))
	}
	got := tree(t, b.out)
	sameTree(t, "the replicas' tree", got, want)
	for p := range got {
		if strings.HasSuffix(p, ".prev") {
			t.Errorf("%s: a previous version in the output tree", p)
		}
	}
	if prev, err := os.ReadDir(filepath.Join(b.out, ".regen", "prev", "gopkg")); err != nil || len(prev) == 0 {
		t.Errorf("no previous versions kept under .regen/prev/gopkg (%v)", err)
	}
}
