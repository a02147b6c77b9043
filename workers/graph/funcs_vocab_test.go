package graph

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
)

func TestGoType(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]string{
		nsXSD + "string":             "string",
		"xsd:string":                 "string",
		nsRDF + "langString":         "string",
		nsRDFS + "Literal":           "string",
		"rdfs:Literal":               "string",
		nsXSD + "anyURI":             "string",
		nsXSD + "duration":           "string",
		nsXSD + "gYear":              "string",
		nsXSD + "integer":            "int64",
		nsXSD + "nonNegativeInteger": "int64",
		"xsd:int":                    "int64",
		nsXSD + "unsignedLong":       "uint64",
		nsXSD + "decimal":            "float64",
		nsXSD + "double":             "float64",
		nsXSD + "boolean":            "bool",
		nsXSD + "dateTime":           "time.Time",
		nsXSD + "date":               "time.Time",
		nsXSD + "base64Binary":       "[]byte",
		nsSchema + "Text":            "string",
		nsSchemaS + "Text":           "string",
		"schema:Integer":             "int64",
		nsSchema + "Number":          "float64",
		nsSchema + "Boolean":         "bool",
		nsSchema + "DateTime":        "time.Time",
		nsSchema + "URL":             "string",
		// Not datatypes.
		nsXSD + "nope":                        "",
		nsRDFS + "Resource":                   "",
		nsRDFS + "Class":                      "",
		nsRDF + "Literal":                     "",
		nsSchema + "Person":                   "",
		"http://xmlns.com/foaf/0.1/Person":    "",
		"http://www.w3.org/2002/07/owl#Thing": "",
		"_:b0":                                "",
		"":                                    "",
	} {
		if got := GoType(uri); got != want {
			t.Errorf("GoType(%q) = %q, want %q", uri, got, want)
		}
	}
}

func TestFieldType(t *testing.T) {
	t.Parallel()
	names := map[string]string{"ex:Person": "Person", "ex:Agent": "Agent"}
	for _, c := range []struct {
		ranges any
		want   string
	}{
		{nil, "IRI"},
		{[]string{}, "IRI"},
		{[]string{"xsd:string"}, "string"},
		{[]any{"xsd:dateTime"}, "time.Time"},
		{[]string{"ex:Person"}, "*Person"},
		{[]string{"ex:Unknown"}, "IRI"},
		{[]string{"_:b0"}, "IRI"},
		{[]string{"xsd:string", "rdfs:Literal", nsRDF + "langString"}, "string"},
		{[]string{"ex:Person", "ex:Person"}, "*Person"},
		{[]string{"ex:Person", "ex:Agent"}, "IRI"},
		{[]string{"ex:Person", "ex:Unknown"}, "IRI"},
		{[]string{"xsd:integer", "xsd:double"}, "any"},
		{[]string{"xsd:string", "ex:Person"}, "any"},
		{[]string{"xsd:string", "ex:Unknown"}, "any"},
	} {
		got, err := fieldType(c.ranges, names, "IRI")
		if err != nil || got != c.want {
			t.Errorf("fieldType(%v) = %q, %v; want %q", c.ranges, got, err, c.want)
		}
	}
	if _, err := fieldType("xsd:string", names, "IRI"); err == nil {
		t.Error("fieldType of a string, not a list: no error")
	}
}

func TestUniqueFields(t *testing.T) {
	t.Parallel()
	list := []string{
		"http://a/familyName", "http://a/family_name", "http://b/familyName",
		"http://a/FamilyName2", "http://a/id", "http://a/Agent", "http://a/", "_:b0",
		"http://a/name",
	}
	got, err := uniqueFields(list, []string{"ID", "Agent"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"http://a/FamilyName2": "FamilyName2", // its own name: nobody else's
		"http://a/familyName":  "FamilyName",  // first of three
		"http://a/family_name": "FamilyName3", // FamilyName2 is taken
		"http://b/familyName":  "FamilyName4",
		"http://a/id":          "Id",
		"http://a/Agent":       "Agent2", // Agent is taken
		"http://a/":            "P" + shortHash("http://a/"),
		"_:b0":                 "B0",
		"http://a/name":        "Name",
	}
	if !maps.Equal(got, want) {
		t.Errorf("uniqueFields = %v\nwant %v", got, want)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] || n == "ID" || !isExportedIdent(n) {
			t.Errorf("%q: duplicate, taken or not an exported identifier", n)
		}
		seen[n] = true
	}

	shuffled := slices.Clone(list)
	slices.Reverse(shuffled)
	again, _ := uniqueFields(append(shuffled, shuffled[0]), []any{"Agent", "ID"})
	if !maps.Equal(again, got) {
		t.Errorf("order or duplicates changed the names: %v", again)
	}
	if _, err := uniqueFields(list, 3); err == nil {
		t.Error("a number as TAKEN: no error")
	}
}

func isExportedIdent(s string) bool {
	for i, r := range s {
		switch {
		case i == 0 && (r < 'A' || r > 'Z'):
			return false
		case !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			return false
		}
	}
	return s != ""
}

func TestListHelpers(t *testing.T) {
	t.Parallel()
	got, err := concat([]string{"b", "a"}, nil, []any{"c", 1}, []string{"a"})
	if err != nil || !slices.Equal(got, []string{"b", "a", "c", "1", "a"}) {
		t.Errorf("concat = %v, %v", got, err)
	}
	if got, err := concat(); err != nil || got == nil || len(got) != 0 {
		t.Errorf("concat() = %#v, %v; want an empty list", got, err)
	}
	if _, err := concat([]string{"a"}, "b"); err == nil || !strings.Contains(err.Error(), "concat: string is not a list") {
		t.Errorf("concat of a string: %v", err)
	}
	if got, _ := sortUniq([]string{"b", "a", "b", "c", "a"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("sortUniq = %v", got)
	}
	in := []string{"b", "a"}
	_, _ = sortUniq(in)
	if !slices.Equal(in, []string{"b", "a"}) {
		t.Errorf("sortUniq changed its argument: %v", in)
	}
	if got, _ := dropBlank([]string{"_:b0", "http://x/A", "_:c", "B"}); !slices.Equal(got, []string{"http://x/A", "B"}) {
		t.Errorf("dropBlank = %v", got)
	}
	if ok, err := hasItem([]any{"a", "b"}, "b"); !ok || err != nil {
		t.Errorf("hasItem b = %v, %v", ok, err)
	}
	if ok, _ := hasItem([]string{"a"}, "c"); ok {
		t.Error("hasItem c = true")
	}
	if ok, _ := hasItem(nil, "c"); ok {
		t.Error("hasItem in nil = true")
	}
}

// triples is an objectLister over a fixed set of edges.
type triples map[[2]string][]string

func (tr triples) Objects(s, p string) ([]string, error) {
	if s == "_:broken" {
		return nil, errors.New("model gone")
	}
	return tr[[2]string{s, p}], nil
}

func TestRDFList(t *testing.T) {
	t.Parallel()
	m := triples{
		{"_:l1", "rdf:first"}: {"ex:A"}, {"_:l1", "rdf:rest"}: {"_:l2"},
		{"_:l2", "rdf:first"}: {"ex:B"}, {"_:l2", "rdf:rest"}: {"_:l3"},
		{"_:l3", "rdf:first"}: {"ex:C"}, {"_:l3", "rdf:rest"}: {rdfNil},
		// A cycle, and a cell with two firsts and no rest.
		{"_:c1", "rdf:first"}: {"ex:X"}, {"_:c1", "rdf:rest"}: {"_:c2"},
		{"_:c2", "rdf:first"}: {"ex:Y"}, {"_:c2", "rdf:rest"}: {"_:c1"},
		{"_:d1", "rdf:first"}: {"ex:P", "ex:Q"},
	}
	for head, want := range map[string][]string{
		"_:l1":  {"ex:A", "ex:B", "ex:C"},
		"_:l2":  {"ex:B", "ex:C"},
		"_:c1":  {"ex:X", "ex:Y"},
		"_:d1":  {"ex:P", "ex:Q"},
		rdfNil:  {},
		"_:nop": {},
		"":      {},
	} {
		if got, err := rdfList(m, head); err != nil || !slices.Equal(got, want) || got == nil {
			t.Errorf("rdfList(%s) = %#v, %v; want %v", head, got, err, want)
		}
	}
	m[[2]string{"_:l3", "rdf:rest"}] = []string{"_:broken"}
	if _, err := rdfList(m, "_:l1"); err == nil || !strings.Contains(err.Error(), "rdfList: model gone") {
		t.Errorf("rdfList over a failing model: %v", err)
	}
}

// The helpers are in TemplateFuncs and work together in a template.
func TestVocabFuncsInATemplate(t *testing.T) {
	t.Parallel()
	for name := range vocabFuncs() {
		if _, ok := TemplateFuncs()[name]; !ok {
			t.Errorf("%s is not in TemplateFuncs", name)
		}
	}
	dict := template.FuncMap{"dict": func() map[string]string { return map[string]string{"ex:a": "Thing"} }}
	tmpl := template.Must(template.New("t").Funcs(TemplateFuncs()).Funcs(dict).Parse(
		`{{ $l := sortUniq (concat (list "ex:b" "ex:a") (rdfList .M "_:l1") (list "_:x")) -}}
{{ join "," (dropBlank $l) }} {{ hasItem $l "ex:C" }} {{ goType "xsd:boolean" }}
{{- $f := uniqueFields $l (list "ExA") }} {{ index $f "ex:A" }}
{{- $names := dict }} {{ fieldType (list "ex:a") $names "IRI" }}`))
	var out strings.Builder
	data := struct{ M triples }{M: triples{{"_:l1", "rdf:first"}: {"ex:A"}, {"_:l1", "rdf:rest"}: {"_:l2"},
		{"_:l2", "rdf:first"}: {"ex:C"}}}
	if err := tmpl.Execute(&out, data); err != nil {
		t.Fatal(err)
	}
	if want := "ex:A,ex:C,ex:a,ex:b true bool ExA2 *Thing"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// Every helper has a line of its own in vocabFuncs's doc comment.
func TestVocabFuncsDocumented(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "funcs_vocab.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "vocabFuncs" {
			doc = fd.Doc.Text()
		}
	}
	for name := range vocabFuncs() {
		if !regexp.MustCompile(`(?m)^\t` + name + `\b`).MatchString(doc) {
			t.Errorf("%s is not documented on vocabFuncs", name)
		}
	}
}
