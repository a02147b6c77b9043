package graph

import (
	"context"
	"fmt"
	"io"

	"github.com/regen-dev/regen/bus/wire"
)

// RenderModel renders every artifact of the current model: each
// node-scoped template for every live node its subject globs match, each
// model-scoped template once. It is the full build that incremental
// regeneration must equal; it records no read set. Artifacts are sorted
// by node, then template.
func (e *Engine) RenderModel(ctx context.Context) ([]wire.Artifact, error) {
	ch := wire.Change{ExecutionID: "render", Event: wire.ChangeEvent{ID: "render", ChangeType: wire.SchemaChanged}}
	set := e.templates.Load()
	var out []wire.Artifact
	for _, id := range e.artifactsOf(set.Templates()) {
		t, _ := set.Get(id.Template)
		r, err := bounded(e, ctx, "render "+id.String(), func() (rendering, error) { return e.renderAt(ctx, t, id) })
		if err != nil {
			return nil, err
		}
		if r.path != "" {
			out = append(out, artifactsOf(ch, t, id, r, nil)...)
		}
	}
	sortArtifacts(out)
	return out, nil
}

// LoadChanges applies the JSON-lines change events of r to m in order,
// each at the stream sequence of its line number (wire.ReadChanges), the
// way a stream would have delivered them; schema_changed and
// template_changed change no node. It returns how many events it applied,
// and stops at the first invalid line, naming it.
func LoadChanges(ctx context.Context, m *Model, r io.Reader) (int, error) {
	n := 0
	for ch, err := range wire.ReadChanges(r) {
		if err != nil {
			return n, err
		}
		if ch.Event.ChangeType == wire.SchemaChanged || ch.Event.ChangeType == wire.TemplateChanged {
			continue
		}
		ch.ExecutionID = "render"
		if _, _, err := m.Apply(ctx, ch); err != nil {
			return n, fmt.Errorf("line %d: %w", ch.Seq, err)
		}
		n++
	}
	return n, nil
}
