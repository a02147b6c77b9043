package graph

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

func writeTemplates(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseFrontMatterDefaults(t *testing.T) {
	t.Parallel()
	fm, body, err := ParseFrontMatter([]byte("---\r\nname: a\r\noutput: x.txt\r\n---\r\nhello {{ .Node.Subject }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fm.Name != "a" || fm.Output != "x.txt" || string(body) != "hello {{ .Node.Subject }}\n" {
		t.Fatalf("fm %+v body %q", fm, body)
	}
	if len(fm.Match.ChangeTypes) != len(ChangeTypesDefault) || fm.Match.Subjects[0] != "*" {
		t.Fatalf("defaults not applied: %+v", fm.Match)
	}
	if _, _, err := ParseFrontMatter([]byte("---\nname: a\noutput: x\n---")); err != nil {
		t.Fatalf("closing line at EOF: %v", err)
	}
}

func TestLoadTemplatesErrorsNameFileAndField(t *testing.T) {
	t.Parallel()
	ok := "---\nname: ok\noutput: ok.txt\n---\nok\n"
	cases := []struct {
		name, file, body, field string
	}{
		{"unknown field", "u.tmpl", "---\nname: u\noutput: x\ncolour: red\n---\n", "colour"},
		{"unknown match field", "m.tmpl", "---\nname: m\noutput: x\nmatch:\n  nodes: [a]\n---\n", "match.nodes"},
		{"missing name", "n.tmpl", "---\noutput: x\n---\n", "name"},
		{"missing output", "o.tmpl", "---\nname: o\n---\n", "output"},
		{"bad output syntax", "s.tmpl", "---\nname: s\noutput: \"{{ .Node \"\n---\n", "output"},
		{"bad body syntax", "b.tmpl", "---\nname: b\noutput: x\n---\n{{ if }}\n", "body"},
		{"unknown change type", "c.tmpl", "---\nname: c\noutput: x\nmatch:\n  change_types: [node_exploded]\n---\n", "match.change_types"},
		{"missing dependency", "d.tmpl", "---\nname: d\noutput: x\ndepends_on: [nope]\n---\n", "depends_on"},
		{"duplicate name", "z.tmpl", "---\nname: ok\noutput: y\n---\n", "name"},
		{"no front matter", "f.tmpl", "hello\n", "front matter"},
		{"wrong type", "w.tmpl", "---\nname: w\noutput: x\ndepends_on: ok\n---\n", "depends_on"},
		{"alias", "al.tmpl", "---\nname: &n al\noutput: *n\n---\n", "front matter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTemplates(t, map[string]string{"ok.tmpl": ok, c.file: c.body})
			_, err := LoadTemplates(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			var te *TemplateError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), c.file) ||
				!strings.Contains(err.Error(), "field "+c.field) {
				t.Fatalf("error %q does not name %s and field %s", err, c.file, c.field)
			}
		})
	}
}

func TestLoadTemplatesCycleAndDependents(t *testing.T) {
	t.Parallel()
	tmpl := func(name, deps string) string {
		return "---\nname: " + name + "\noutput: " + name + ".txt\ndepends_on: [" + deps + "]\n---\n"
	}
	dir := writeTemplates(t, map[string]string{"a.tmpl": tmpl("a", "c"), "b.tmpl": tmpl("b", "a"), "c.tmpl": tmpl("c", "b")})
	if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "cycle") ||
		!strings.Contains(err.Error(), "field depends_on") {
		t.Fatalf("cycle: %v", err)
	}
	dir = writeTemplates(t, map[string]string{"a.tmpl": tmpl("a", ""), "b.tmpl": tmpl("b", "a"),
		"c.tmpl": tmpl("c", "b"), "d.tmpl": tmpl("d", "")})
	set, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range set.WithDependents("a") {
		names = append(names, tt.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("dependents of a = %v", names)
	}
}

func TestTemplateMatches(t *testing.T) {
	t.Parallel()
	tt, err := ParseTemplate("x.tmpl", []byte("---\nname: x\noutput: x\nmatch:\n  subjects: [\"http://ex.org/*\"]\n  predicates: [p]\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, q := "p", "q"
	cases := []struct {
		ev   wire.ChangeEvent
		want bool
	}{
		{wire.ChangeEvent{ChangeType: wire.NodeAdded, Subject: "http://ex.org/a/b"}, true},
		{wire.ChangeEvent{ChangeType: wire.NodeAdded, Subject: "urn:a"}, false},
		{wire.ChangeEvent{ChangeType: wire.NodeRemoved, Subject: "http://ex.org/a"}, false},
		{wire.ChangeEvent{ChangeType: wire.EdgeAdded, Subject: "http://ex.org/a", Predicate: &p, Object: &q}, true},
		{wire.ChangeEvent{ChangeType: wire.EdgeAdded, Subject: "http://ex.org/a", Predicate: &q, Object: &q}, false},
	}
	for _, c := range cases {
		if got := tt.Matches(c.ev); got != c.want {
			t.Errorf("Matches(%+v) = %v", c.ev, got)
		}
	}
	for _, g := range []struct {
		p, s string
		want bool
	}{{"*", "", true}, {"a*c", "abbc", true}, {"a*c", "abcd", false}, {"*/x", "a/b/x", true}, {"a", "ab", false}} {
		if Glob(g.p, g.s) != g.want {
			t.Errorf("Glob(%q, %q) != %v", g.p, g.s, g.want)
		}
	}
}

func TestGoName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"family_name": "FamilyName", "rdfs:comment": "RdfsComment",
		"3d": "N3d", "givenName": "GivenName", "_:b0": "B0", "": "", "--": "", "名前": "N名前"} {
		if got := GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseFrontMatter(f *testing.F) {
	for _, s := range []string{"---\nname: a\noutput: b\n---\nbody",
		"---\nname: &a [*a]\n---\n", "---\nmatch: {change_types: [x, y], subjects: [\"*\"]}\n---\n",
		"---\n---\n", "---", "", "---\n- a\n- b\n---\n", "---\n? [a]\n: b\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, _, err := ParseFrontMatter(data)
		if err == nil && (fm.Name == "" || fm.Output == "") {
			t.Fatalf("accepted front matter without name/output: %+v", fm)
		}
	})
}
