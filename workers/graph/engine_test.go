package graph

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

const (
	nodeTmpl = "---\nname: node\nmatch:\n  change_types: [node_added, node_updated]\n  subjects: [\"urn:x:*\"]\n" +
		"output: \"nodes/{{ .Node.LocalName }}.txt\"\n---\n{{ .Node.Subject }} {{ .Node.Text \"v\" }}\n"
	edgeTmpl = "---\nname: edge\nmatch:\n  change_types: [edge_added, edge_removed]\n  predicates: [likes]\n" +
		"output: \"edges/{{ .Node.LocalName }}.txt\"\n---\n{{ join \",\" (.Node.Out \"likes\") }}\n"
	depTmpl = "---\nname: dep\noutput: \"dep/{{ .Node.LocalName }}.txt\"\nmatch:\n  change_types: [schema_changed]\n" +
		"depends_on: [node]\n---\ndep of {{ .Node.Subject }}\n"
)

type engineBundle struct {
	*testkit.Bundle
	dir string
	eng *Engine
}

func setupEngine(t *testing.T, files map[string]string) *engineBundle {
	t.Helper()
	b := setup(t)
	dir := writeTemplates(t, files)
	eng, err := NewEngine(b.Ctx, Config{Templates: dir, Model: newModel(t, b, "MODEL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return &engineBundle{Bundle: b, dir: dir, eng: eng}
}

func (e *engineBundle) regen(t *testing.T, ch wire.Change) []wire.Artifact {
	t.Helper()
	arts, err := e.eng.Regenerate(e.Ctx, ch)
	if err != nil {
		t.Fatalf("regenerate %s: %v", ch.Event.ChangeType, err)
	}
	return arts
}

func paths(arts []wire.Artifact) string {
	var ps []string
	for _, a := range arts {
		p := a.Path
		if a.Delete {
			p = "-" + p
		}
		ps = append(ps, p)
	}
	return strings.Join(ps, " ")
}

func TestEngineNodeAndEdgeChanges(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl, "dep.tmpl": depTmpl})
	// Every change to a node renders all of its own artifacts: what a
	// template reads of its node is in its read set.
	arts := e.regen(t, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", map[string]any{"v": "1"}))
	if got := paths(arts); got != "dep/urn:x:a.txt edges/urn:x:a.txt nodes/urn:x:a.txt" {
		t.Fatalf("node_added -> %q", got)
	}
	a := arts[2]
	if string(a.Content) != "urn:x:a 1\n" || a.Hash != wire.ContentHash(a.Content) || a.Revision == 0 ||
		a.EventID != "ev-urn:x:a-node_added" || a.ExecutionID != "x" || a.Template != "node" || a.Node != "urn:x:a" {
		t.Fatalf("artifact = %+v", a)
	}
	if got := paths(e.regen(t, testkit.NodeChange(2, wire.NodeAdded, "urn:y:b", nil))); got != "dep/urn:y:b.txt edges/urn:y:b.txt" {
		t.Fatalf("subject node.s globs do not match -> %q", got)
	}
	arts = e.regen(t, testkit.EdgeChange(4, wire.EdgeAdded, "urn:x:a", "likes", "urn:x:b"))
	if got := paths(arts); got != "dep/urn:x:a.txt edges/urn:x:a.txt nodes/urn:x:a.txt" || string(arts[1].Content) != "urn:x:b\n" {
		t.Fatalf("edge_added -> %q %q", got, arts[1].Content)
	}
	again := e.regen(t, testkit.EdgeChange(4, wire.EdgeAdded, "urn:x:a", "likes", "urn:x:b"))
	if len(again) != 3 || again[1].Hash != arts[1].Hash {
		t.Fatalf("redelivery rendered differently: %+v", again)
	}
}

func TestEngineNodeRemovedDeletes(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl})
	e.regen(t, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil))
	arts := e.regen(t, testkit.NodeChange(2, wire.NodeRemoved, "urn:x:a", nil))
	if got := paths(arts); got != "-edges/urn:x:a.txt -nodes/urn:x:a.txt" {
		t.Fatalf("node_removed -> %q", got)
	}
	// A late, older update does not resurrect it.
	if got := paths(e.regen(t, testkit.NodeChange(1, wire.NodeUpdated, "urn:x:a", nil))); got != "" {
		t.Fatalf("stale update after removal -> %q", got)
	}
}

// TestEngineNodeRemovedLaggingIndex holds the index back from the
// deletes of read sets, as a slow watch does: a stale update after the
// removal still deploys nothing, as what it would delete is decided by
// the stored read sets, not the index's copy of them.
func TestEngineNodeRemovedLaggingIndex(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl})
	e.regen(t, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil))
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the engine closes
	hold := func(en jetstream.KeyValueEntry) {
		if strings.HasPrefix(en.Key(), ReadSetPrefix) && en.Operation() != jetstream.KeyValuePut {
			<-release
		}
	}
	e.eng.index.beforeApply.Store(&hold)
	arts := e.regen(t, testkit.NodeChange(2, wire.NodeRemoved, "urn:x:a", nil))
	if got := paths(arts); got != "-edges/urn:x:a.txt -nodes/urn:x:a.txt" {
		t.Fatalf("node_removed -> %q", got)
	}
	if _, _, ok := e.eng.index.readSet(ArtifactID{Template: "node", Node: "urn:x:a"}); !ok {
		t.Fatal("the index applied the read set's delete: nothing is held back")
	}
	if got := paths(e.regen(t, testkit.NodeChange(1, wire.NodeUpdated, "urn:x:a", nil))); got != "" {
		t.Fatalf("stale update after removal, index behind -> %q", got)
	}
	open()
	if got := paths(e.regen(t, testkit.NodeChange(1, wire.NodeUpdated, "urn:x:a", nil))); got != "" {
		t.Fatalf("stale update after removal -> %q", got)
	}
}

func TestEngineSchemaAndTemplateChanged(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl, "dep.tmpl": depTmpl})
	for i, s := range []string{"urn:x:a", "urn:x:b", "urn:y:c"} {
		e.regen(t, testkit.NodeChange(uint64(i+1), wire.NodeAdded, s, nil))
	}
	e.regen(t, testkit.NodeChange(9, wire.NodeRemoved, "urn:x:b", nil))
	schema := testkit.NodeChange(0, wire.SchemaChanged, "schema", nil)
	if got := paths(e.regen(t, schema)); got != "dep/urn:x:a.txt edges/urn:x:a.txt nodes/urn:x:a.txt dep/urn:y:c.txt edges/urn:y:c.txt" {
		t.Fatalf("schema_changed -> %q", got)
	}
	changed := strings.Replace(nodeTmpl, "{{ .Node.Subject }} ", "NEW {{ .Node.Subject }} ", 1)
	if err := os.WriteFile(filepath.Join(e.dir, "node.tmpl"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	arts := e.regen(t, testkit.NodeChange(0, wire.TemplateChanged, "node", nil))
	// dep depends on node; its own subject glob ("*") also covers urn:y:c.
	if got := paths(arts); got != "dep/urn:x:a.txt nodes/urn:x:a.txt dep/urn:y:c.txt" || !strings.HasPrefix(string(arts[1].Content), "NEW ") {
		t.Fatalf("template_changed -> %q %q", got, arts[1].Content)
	}
	_, err := e.eng.Regenerate(e.Ctx, testkit.NodeChange(0, wire.TemplateChanged, "missing", nil))
	if !errors.Is(err, wire.ErrPermanent) {
		t.Fatalf("missing template: %v", err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "node.tmpl"), []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Regenerate(e.Ctx, testkit.NodeChange(0, wire.TemplateChanged, "node", nil)); !errors.Is(err, wire.ErrPermanent) {
		t.Fatalf("broken reload: %v", err)
	}
	if _, ok := e.eng.Templates().Get("node"); !ok {
		t.Fatal("failed reload replaced the template set")
	}
}

func TestEnginePermanentErrors(t *testing.T) {
	t.Parallel()
	unsafe := "---\nname: unsafe\noutput: \"../{{ .Node.LocalName }}\"\n---\nx\n"
	failing := "---\nname: failing\noutput: \"f/{{ .Node.LocalName }}\"\n---\n{{ index .Node.Edges 5 }}\n"
	e := setupEngine(t, map[string]string{"unsafe.tmpl": unsafe})
	if _, err := e.eng.Regenerate(e.Ctx, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil)); !errors.Is(err, wire.ErrPermanent) || !errors.Is(err, wire.ErrUnsafePath) {
		t.Fatalf("unsafe path: %v", err)
	}
	e = setupEngine(t, map[string]string{"failing.tmpl": failing})
	if _, err := e.eng.Regenerate(e.Ctx, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil)); !errors.Is(err, wire.ErrPermanent) {
		t.Fatalf("exec error: %v", err)
	}
}

func TestEngineConcurrentRegenerate(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"node.tmpl": nodeTmpl, "edge.tmpl": edgeTmpl, "dep.tmpl": depTmpl})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			var err error
			if i%16 == 0 {
				_, err = e.eng.Regenerate(e.Ctx, testkit.NodeChange(0, wire.TemplateChanged, "node", nil))
			} else {
				_, err = e.eng.Regenerate(e.Ctx, testkit.EdgeChange(uint64(i+1), wire.EdgeAdded, "urn:x:hot", "likes", "urn:x:"+string(rune('a'+i%26))))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	arts := e.regen(t, testkit.NodeChange(0, wire.SchemaChanged, "s", nil))
	i := slices.IndexFunc(arts, func(a wire.Artifact) bool { return a.Path == "edges/urn:x:hot.txt" })
	if i < 0 || strings.Count(string(arts[i].Content), ",") != 25 {
		t.Fatalf("edges lost: %+v", arts)
	}
}

func TestRenderStopsOnContextEnd(t *testing.T) {
	t.Parallel()
	tt, err := ParseTemplate("big.tmpl", []byte("---\nname: big\noutput: x\n---\n{{ range 100000000 }}x{{ end }}"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tt.Render(ctx, RenderData{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("render with a cancelled context: %v", err)
	}
	huge, _ := ParseTemplate("huge.tmpl", []byte("---\nname: huge\noutput: x\n---\n{{ range 100000000 }}xxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}"))
	if _, err := huge.Render(context.Background(), RenderData{}); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("oversize render: %v", err)
	}
}
