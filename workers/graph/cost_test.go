package graph

import (
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/testkit"
)

// A change records its model and render stages, each template's render
// (time, CPU on Linux, bytes) and its KV operations in the context's
// recorder.
func TestRegenerateRecordsItsCost(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "dep.tmpl": depTmpl})
	var rec cost.Recorder
	ctx := cost.WithRecorder(e.Ctx, &rec)
	arts, err := e.eng.Regenerate(ctx, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", map[string]any{"v": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	var got cost.Record
	rec.Visit(func(r *cost.Record) { got = *r; got.Templates = append([]cost.Part(nil), r.Templates...) })
	if got.Stages[cost.Model] <= 0 || got.Stages[cost.Render] <= 0 || got.KVOps < 2 {
		t.Fatalf("record %+v: want model and render stages and the model's read and write", got)
	}
	rendered := map[string]int64{}
	for _, p := range got.Templates {
		if p.Wall <= 0 || p.Wall > got.Stages[cost.Render] {
			t.Fatalf("template %s took %v of a render stage of %v", p.Name, p.Wall, got.Stages[cost.Render])
		}
		rendered[p.Name] = p.BytesRendered
	}
	for _, a := range arts {
		if rendered[a.Template] != int64(len(a.Content)) {
			t.Fatalf("template %s: %d bytes recorded, %d rendered", a.Template, rendered[a.Template], len(a.Content))
		}
	}
	if len(rendered) != 2 {
		t.Fatalf("templates recorded %v, want node and dep", rendered)
	}
}
