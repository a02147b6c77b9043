package graph

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/regen-dev/regen/bus/wire"
)

// RenderModel renders every template for every node of the model that is
// not removed: the full build that incremental regeneration must equal.
// Artifacts are sorted by node, then template.
func (e *Engine) RenderModel(ctx context.Context) ([]wire.Artifact, error) {
	ch := wire.Change{ExecutionID: "render", Event: wire.ChangeEvent{ID: "render", ChangeType: wire.SchemaChanged}}
	return e.renderAll(ctx, ch, e.templates.Load().Templates())
}

// LoadChanges applies the JSON-lines change events of r to m in order,
// each at the stream sequence of its line number, the way a stream would
// have delivered them; schema_changed and template_changed change no
// node. It returns how many events it applied, and stops at the first
// invalid line, naming it.
func LoadChanges(ctx context.Context, m *Model, r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), wire.MaxPayloadDefault+1)
	n, line := 0, uint64(0)
	for sc.Scan() {
		line++
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		ev, err := wire.DecodeChangeEvent(bytes.Clone(data), 0)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		if ev.ChangeType == wire.SchemaChanged || ev.ChangeType == wire.TemplateChanged {
			continue
		}
		if _, _, err := m.Apply(ctx, wire.Change{Event: ev, Seq: line, ExecutionID: "render"}); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("line %d: %w", line+1, err)
	}
	return n, nil
}
