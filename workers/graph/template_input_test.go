package graph

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// matchTmpl is a template file named name, for subjects urn:x:*, with
// output path <name>/<local name>.txt and body.
func matchTmpl(name, body string) string {
	return fmt.Sprintf("---\nname: %s\nmatch:\n  subjects: [\"urn:x:*\"]\n"+
		"output: \"%s/{{ .Node.LocalName }}.txt\"\n---\n%s", name, name, body)
}

// A map key the node lacks fails the render (permanently, with reason
// template_error) instead of writing "<no value>", in the body as in the
// output path; the helpers, index and with still read optional keys.
func TestMissingKeyIsATemplateError(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{"missing.tmpl": matchTmpl("missing", `{{ .Node.Props.nope }}`)})
	_, err := e.eng.Regenerate(e.Ctx, testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", map[string]any{"v": "1"}))
	if !wire.IsPermanent(err) || wire.ReasonOf(err) != wire.ReasonTemplateError ||
		!strings.Contains(err.Error(), `map has no entry for key "nope"`) {
		t.Fatalf("missing key: err = %v (reason %s), want a permanent template_error", err, wire.ReasonOf(err))
	}

	node := RenderData{Node: NodeView{Props: map[string]any{"v": "1"}}}
	inPath, err := ParseTemplate("path.tmpl", []byte("---\nname: path\noutput: \"{{ .Node.Props.nope }}.txt\"\n---\nx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inPath.OutputPath(e.Ctx, node); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing key in the output path: err = %v", err)
	}

	optional, err := ParseTemplate("optional.tmpl", []byte(matchTmpl("optional",
		`[{{ .Node.Text "nope" }}|{{ with index .Node.Props "nope" }}{{ . }}{{ end }}|{{ .Node.Props.v }}]`)))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := optional.Render(e.Ctx, node); err != nil || string(out) != "[||1]" {
		t.Fatalf("optional keys: %q, %v", out, err)
	}
}

// The shipped templates render every example vocabulary without a
// template error and without "<no value>" anywhere.
func TestExamplesRenderEveryVocabulary(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../examples/events/*.jsonl")
	if err != nil || len(files) < 2 {
		t.Fatalf("example events: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			arts := renderEvents(t, file)
			if len(arts) == 0 {
				t.Fatal("no artifacts")
			}
			for _, a := range arts {
				if bytes.Contains(a.Content, []byte("<no value>")) || strings.Contains(a.Path, "<no value>") {
					t.Errorf("%s (%s) holds <no value>:\n%s", a.Path, a.Node, a.Content)
				}
			}
		})
	}
}

// renderEvents runs every event of file through an engine over the
// example templates; it fails on any error.
func renderEvents(t *testing.T, file string) []wire.Artifact {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	b := setup(t)
	eng, err := NewEngine(b.Ctx, Config{Templates: examplesDir, Model: newModel(t, b, "MODEL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	var out []wire.Artifact
	for _, ch := range testkit.LoadChanges(t, file) {
		arts, err := eng.Regenerate(b.Ctx, ch)
		if err != nil {
			t.Fatalf("event %d: %v (reason %s)", ch.Seq, err, wire.ReasonOf(err))
		}
		out = append(out, arts...)
	}
	return out
}
