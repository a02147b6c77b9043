package graph

import (
	"reflect"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

const (
	foaf     = "http://xmlns.com/foaf/0.1/"
	rdfsCls  = "http://www.w3.org/2000/01/rdf-schema#Class"
	owlClass = "http://www.w3.org/2002/07/owl#Class"
)

// classTmpl renders, for each class, the properties whose rdfs:domain is
// it with their labels: it reads other nodes than its own.
const classTmpl = `---
name: class
output: >-
  {{- if .Node.Has "rdf:type" "` + rdfsCls + `" }}classes/{{ .Node.LocalName }}.txt{{ end -}}
---
{{ .Node.LocalName }}:
{{- range $p := .Node.In "rdfs:domain" }}{{ $n := $.Model.Node $p }} {{ $n.First "rdfs:label" }}{{ end }}
`

// indexTmpl is model-scoped: one file listing every class.
const indexTmpl = `---
name: index
scope: model
output: classes/index.txt
---
{{ range .Model.OfType "` + rdfsCls + `" }}{{ local . }}
{{ end }}`

// loadFOAF applies FOAF's events through e and returns the engine bundle.
func loadFOAF(t *testing.T, files map[string]string) *engineBundle {
	t.Helper()
	e := setupEngine(t, files)
	for _, ch := range testkit.LoadChanges(t, "testdata/foaf.jsonl") {
		e.regen(t, ch)
	}
	return e
}

// render runs fn under a query over the engine's index.
func (e *engineBundle) query(t *testing.T, fn func(m ModelView) (any, error)) any {
	t.Helper()
	x := e.eng.Index()
	x.mu.RLock()
	defer x.mu.RUnlock()
	v, err := fn(ModelView{q: newQuery(e.Ctx, x)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestModelQueriesOverFOAF(t *testing.T) {
	t.Parallel()
	e := loadFOAF(t, map[string]string{"class.tmpl": classTmpl})
	in := e.query(t, func(m ModelView) (any, error) {
		v, err := m.Node(foaf + "Person")
		if err != nil {
			return nil, err
		}
		return v.In("rdfs:domain")
	}).([]string)
	for _, p := range []string{"familyName", "firstName", "knows", "myersBriggs"} {
		if !strings.Contains(strings.Join(in, " "), foaf+p+" ") && !strings.HasSuffix(strings.Join(in, " "), foaf+p) {
			t.Errorf("Person.In(rdfs:domain) lacks %s: %v", p, in)
		}
	}
	subj := e.query(t, func(m ModelView) (any, error) { return m.Subjects("rdfs:domain", foaf+"Person") })
	if !reflect.DeepEqual(subj, in) {
		t.Errorf("Subjects(rdfs:domain, Person) = %v, want In's %v", subj, in)
	}
	objs := e.query(t, func(m ModelView) (any, error) { return m.Objects(foaf+"Person", "rdfs:subClassOf") }).([]string)
	if len(objs) == 0 {
		t.Errorf("Objects(Person, rdfs:subClassOf) is empty")
	}
	classes := e.query(t, func(m ModelView) (any, error) { return m.OfType(owlClass) }).([]string)
	all := e.query(t, func(m ModelView) (any, error) { return m.OfType("http://xmlns.com/foaf/0.1/Agent", true) }).([]string)
	if len(classes) < 10 || !sorted(classes) {
		t.Errorf("OfType(owl:Class) = %v", classes)
	}
	if len(all) != 0 {
		t.Errorf("FOAF has no instances of Agent, OfType(Agent, true) = %v", all)
	}
	rows := e.query(t, func(m ModelView) (any, error) {
		return m.Match("?p rdfs:domain ?c", "?p rdfs:range ?r", "?c rdf:type "+owlClass)
	}).([]Row)
	if len(rows) < 20 {
		t.Fatalf("Match gave %d rows", len(rows))
	}
	for i, r := range rows {
		if r["p"] == "" || r["c"] == "" || r["r"] == "" {
			t.Fatalf("row %d = %v", i, r)
		}
		if i > 0 && rows[i-1]["p"] > r["p"] {
			t.Fatalf("rows not sorted by ?p: %v before %v", rows[i-1], r)
		}
	}
}

func sorted(l []string) bool {
	for i := 1; i < len(l); i++ {
		if l[i-1] >= l[i] {
			return false
		}
	}
	return true
}

func TestOfTypeFollowsSubClassOf(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{})
	for i, ch := range []wire.Change{
		testkit.EdgeChange(1, wire.EdgeAdded, "urn:Dog", PredSubClassOf, "urn:Animal"),
		testkit.EdgeChange(2, wire.EdgeAdded, "urn:Puppy", PredSubClassOf, "urn:Dog"),
		testkit.EdgeChange(3, wire.EdgeAdded, "urn:rex", PredType, "urn:Dog"),
		testkit.EdgeChange(4, wire.EdgeAdded, "urn:bit", PredType, "urn:Puppy"),
		testkit.EdgeChange(5, wire.EdgeAdded, "urn:tom", PredType, "urn:Cat"),
		testkit.EdgeChange(6, wire.EdgeAdded, "urn:Animal", PredSubClassOf, "urn:Puppy"), // a cycle
	} {
		_ = i
		e.regen(t, ch)
	}
	got := e.query(t, func(m ModelView) (any, error) { return m.OfType("urn:Animal", true) })
	if want := []string{"urn:bit", "urn:rex"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("OfType(Animal, true) = %v, want %v", got, want)
	}
	e.regen(t, testkit.NodeChange(7, wire.NodeRemoved, "urn:rex", nil))
	got = e.query(t, func(m ModelView) (any, error) { return m.OfType("urn:Animal", true) })
	if want := []string{"urn:bit"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after removing rex: %v, want %v", got, want)
	}
}

func TestMatchRefusesBadPatterns(t *testing.T) {
	t.Parallel()
	e := setupEngine(t, map[string]string{})
	for _, p := range []string{"", "?a ?b ?c", "a b", "a b c d"} {
		x := e.eng.Index()
		x.mu.RLock()
		_, err := ModelView{q: newQuery(e.Ctx, x)}.Match(p)
		x.mu.RUnlock()
		if err == nil {
			t.Errorf("Match(%q) succeeded", p)
		}
	}
}

func TestUniqueNamesAreStableAndUnique(t *testing.T) {
	t.Parallel()
	list := []string{"urn:b#Address", "urn:a#address", "urn:c#Address2", "urn:x#", "urn:y/3d"}
	got, err := UniqueNames(list)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"urn:a#address": "Address", "urn:b#Address": "Address3",
		"urn:c#Address2": "Address2", "urn:x#": "Node", "urn:y/3d": "N3d"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UniqueNames = %v, want %v", got, want)
	}
	rev := []any{"urn:y/3d", "urn:x#", "urn:c#Address2", "urn:a#address", "urn:b#Address"}
	if again, _ := UniqueNames(rev); !reflect.DeepEqual(again, want) {
		t.Fatalf("order changed the names: %v", again)
	}
}

// TestAChangeReRendersTheArtifactsThatReadIt: a class's file lists the
// properties whose domain it is, with their labels; a property gaining a
// domain edge, or changing its label, re-renders the class, and a change
// nothing read re-renders only the changed node's own artifacts.
func TestAChangeReRendersTheArtifactsThatReadIt(t *testing.T) {
	t.Parallel()
	e := loadFOAF(t, map[string]string{"class.tmpl": classTmpl, "index.tmpl": indexTmpl})
	arts := e.regen(t, testkit.EdgeChange(1000, wire.EdgeAdded, foaf+"familyName", "rdfs:domain", foaf+"Document"))
	// Document reads the new edge through .Node.In; Person read
	// familyName's whole view through .Model.Node, which changed too.
	if got := paths(arts); got != "classes/Document.txt classes/Person.txt" {
		t.Fatalf("domain edge -> %q, want the classes Document and Person", got)
	}
	if !strings.Contains(string(arts[0].Content), " familyName") {
		t.Fatalf("Document now = %q", arts[0].Content)
	}
	arts = e.regen(t, testkit.NodeChange(1001, wire.NodeUpdated, foaf+"familyName", map[string]any{"rdfs:label": "surname"}))
	if got := paths(arts); !strings.Contains(got, "classes/Document.txt") || !strings.Contains(got, "classes/Person.txt") {
		t.Fatalf("label change -> %q, want Document and Person", got)
	}
	if got := paths(e.regen(t, testkit.NodeChange(1002, wire.NodeUpdated, "urn:unrelated", map[string]any{"x": "1"}))); got != "" {
		t.Fatalf("an unread node's change -> %q", got)
	}
	arts = e.regen(t, testkit.EdgeChange(1003, wire.EdgeAdded, "urn:x/NewClass", "rdf:type", rdfsCls))
	if got := paths(arts); got != "classes/index.txt classes/NewClass.txt" {
		t.Fatalf("a new class -> %q, want it and the index", got)
	}
	arts = e.regen(t, testkit.NodeChange(1004, wire.NodeRemoved, "urn:x/NewClass", nil))
	if got := paths(arts); got != "classes/index.txt -classes/NewClass.txt" {
		t.Fatalf("removing the class -> %q", got)
	}
}
