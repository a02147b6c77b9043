package graph

import (
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

const examplesDir = "../../examples/templates"

// renderFOAF runs every FOAF event through an engine over the example
// templates and returns the latest artifact per path.
func renderFOAF(t *testing.T) map[string]wire.Artifact {
	t.Helper()
	b := setup(t)
	eng, err := NewEngine(b.Ctx, Config{Templates: examplesDir, Model: newModel(t, b, "MODEL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	out := map[string]wire.Artifact{}
	for _, ch := range testkit.LoadChanges(t, "testdata/foaf.jsonl") {
		arts, err := eng.Regenerate(b.Ctx, ch)
		if err != nil {
			t.Fatalf("event %d: %v", ch.Seq, err)
		}
		for _, a := range arts {
			if old, ok := out[a.Path]; ok && old.Node != a.Node {
				t.Fatalf("%s and %s both render %s", old.Node, a.Node, a.Path)
			}
			out[a.Path] = a
		}
	}
	return out
}

func TestExamplesRenderFOAF(t *testing.T) {
	t.Parallel()
	arts := renderFOAF(t)
	types := map[string]string{} // subject -> Go source
	for p, a := range arts {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		formatted, err := format.Source(a.Content)
		if err != nil {
			t.Fatalf("%s (%s) is not valid Go: %v\n%s", p, a.Node, err, a.Content)
		}
		if string(formatted) != string(a.Content) {
			t.Errorf("%s is not gofmt-formatted:\n%s", p, a.Content)
		}
		types[a.Node] = string(a.Content)
	}
	if len(types) != 76 {
		t.Errorf("got %d Go files, want one per FOAF node (76)", len(types))
	}
	person := types["http://xmlns.com/foaf/0.1/Person"]
	for _, want := range []string{"type Person struct", "RdfsComment string", "AgentRef string",
		"// Super-classes: ", "http://xmlns.com/foaf/0.1/Agent"} {
		if !strings.Contains(person, want) {
			t.Errorf("Person type lacks %q:\n%s", want, person)
		}
	}
	checkTypeNames(t, types)
	checkHierarchy(t, arts)
}

// checkTypeNames checks each file declares exactly one exported struct.
func checkTypeNames(t *testing.T, types map[string]string) {
	t.Helper()
	for subject, src := range types {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Decls) != 1 || f.Doc != nil && f.Name.Name != "types" {
			t.Errorf("%s: want one declaration in package types", subject)
		}
	}
}

func checkHierarchy(t *testing.T, arts map[string]wire.Artifact) {
	t.Helper()
	var pages []string
	var person string
	for _, a := range arts {
		if strings.HasPrefix(a.Path, "classes/") {
			pages = append(pages, a.Path)
			if a.Node == "http://xmlns.com/foaf/0.1/Person" {
				person = string(a.Content)
			}
		}
	}
	if len(pages) < 10 {
		t.Errorf("only %d class pages: %v", len(pages), pages)
	}
	for _, want := range []string{"# Person", "- [Agent](<http://xmlns.com/foaf/0.1/Agent>)", "- [SpatialThing]"} {
		if !strings.Contains(person, want) {
			t.Errorf("Person page lacks %q:\n%s", want, person)
		}
	}
}

func TestExamplesDeterministic(t *testing.T) {
	t.Parallel()
	a, b := renderFOAF(t), renderFOAF(t)
	if !maps.EqualFunc(a, b, func(x, y wire.Artifact) bool { return x.Hash == y.Hash }) {
		t.Fatal("two renders of the same model differ")
	}
}

func TestExamplesLoad(t *testing.T) {
	t.Parallel()
	set, err := LoadTemplates(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Get("go-struct"); !ok {
		t.Fatal("go-struct missing")
	}
	if _, err := os.Stat(filepath.Join(examplesDir, "README.md")); err != nil {
		t.Fatal(err)
	}
}
