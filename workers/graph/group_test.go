package graph

import (
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// Changes to one node in one batch are applied in one write and the node
// rendered once; a change that cannot apply fails alone.
func TestAGroupIsAppliedInOneWriteAndRenderedOnce(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl})
	before := e.eng.Index().Rev()
	bad := testkit.NodeChange(0, wire.NodeUpdated, "urn:x:a", map[string]any{"v": "lost"}) // no stream sequence
	chs := []wire.Change{
		testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", map[string]any{"v": "1"}),
		testkit.EdgeChange(2, wire.EdgeAdded, "urn:x:a", "likes", "urn:x:b"),
		bad,
		testkit.NodeChange(3, wire.NodeUpdated, "urn:x:a", map[string]any{"v": "2"}),
	}
	r0 := e.eng.Renders()
	arts, errs, err := e.eng.RegenerateGroup(e.Ctx, chs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if (err != nil) != (i == 2) {
			t.Errorf("errs[%d] = %v", i, err)
		}
	}
	if got := paths(arts); got != "edges/urn:x:a.txt nodes/urn:x:a.txt" {
		t.Fatalf("artifacts %q", got)
	}
	if string(arts[0].Content) != "urn:x:b\n" || string(arts[1].Content) != "urn:x:a 2\n" {
		t.Fatalf("contents %q %q", arts[0].Content, arts[1].Content)
	}
	if n := e.eng.Renders() - r0; n != 2 {
		t.Fatalf("%d renders, want one per template", n)
	}
	// One node write; the read sets of the two artifacts are the other writes.
	_, rev, err := e.eng.cfg.Model.Get(e.Ctx, "urn:x:a")
	if err != nil {
		t.Fatal(err)
	}
	if rev != before+1 {
		t.Fatalf("node at revision %d, want %d: one write", rev, before+1)
	}
}

// GroupKey puts the changes of one node together, and the requests to
// re-render one artifact; template and schema changes are never grouped.
func TestGroupKeys(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl})
	a1 := e.eng.GroupKey(testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil).Event)
	a2 := e.eng.GroupKey(testkit.EdgeChange(2, wire.EdgeAdded, "urn:x:a", "p", "o").Event)
	b := e.eng.GroupKey(testkit.NodeChange(3, wire.NodeAdded, "urn:x:b", nil).Event)
	stale := StaleEvent(wire.Change{}, StaleTask{ID: ArtifactID{Template: "node", Node: "urn:x:a"}, Revision: 9})
	if a1 == "" || a1 != a2 || a1 == b || e.eng.GroupKey(stale) == a1 || e.eng.GroupKey(stale) == "" {
		t.Fatalf("keys: %q %q %q %q", a1, a2, b, e.eng.GroupKey(stale))
	}
	for _, typ := range []wire.ChangeType{wire.TemplateChanged, wire.SchemaChanged} {
		if k := e.eng.GroupKey(testkit.NodeChange(0, typ, "node", nil).Event); k != "" {
			t.Errorf("%s grouped as %q", typ, k)
		}
	}
}
