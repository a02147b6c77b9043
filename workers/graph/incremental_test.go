package graph

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// The templates of the property test: what a class reads of other nodes
// (classTmpl), a model-scoped index (indexTmpl), a pattern and the unique
// names over the classes, and an output path that moves with a label.
const (
	rangesTmpl = `---
name: ranges
output: '{{ if .Node.In "rdfs:range" }}ranges/{{ shortHash .Node.Subject }}.txt{{ end }}'
---
{{ $names := uniqueNames (.Model.OfType "` + rdfsCls + `") -}}
{{ range .Model.Match (printf "?p rdfs:range %s" .Node.Subject) "?p rdfs:domain ?d" -}}
{{ .p }} from {{ .d }} ({{ index $names .d }})
{{ end }}`
	labelTmpl = `---
name: label
output: 'labels/{{ shortHash .Node.Subject }}-{{ goName (.Node.First "rdfs:label") }}.txt'
---
{{ .Node.Text "rdfs:label" }} / {{ .Node.Text "rdfs:comment" }}
`
)

func propertyTemplates(version int) map[string]string {
	class := classTmpl
	if version > 0 {
		class = strings.Replace(classTmpl, "{{ .Node.LocalName }}:", fmt.Sprintf("v%d {{ .Node.LocalName }}:", version), 1)
	}
	return map[string]string{"class.tmpl": class, "index.tmpl": indexTmpl, "ranges.tmpl": rangesTmpl, "label.tmpl": labelTmpl}
}

// tree is a deploy root as the deployer keeps it: per path the content
// of the latest revision, deletes included.
type tree struct {
	mu    sync.Mutex
	files map[string]wire.Artifact
}

func (t *tree) deploy(arts []wire.Artifact) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range arts {
		if cur, ok := t.files[a.Path]; ok && cur.Revision > a.Revision {
			continue
		}
		t.files[a.Path] = a
	}
}

func (t *tree) contents() map[string]string {
	out := map[string]string{}
	for p, a := range t.files {
		if !a.Delete {
			out[p] = string(a.Content)
		}
	}
	return out
}

func contents(arts []wire.Artifact) map[string]string {
	out := map[string]string{}
	for _, a := range arts {
		out[a.Path] = string(a.Content)
	}
	return out
}

// vocabularies are the real vocabularies the property test runs over.
var vocabularies = []string{"testdata/foaf.jsonl", "../../examples/gopkg/testdata/skos.jsonl",
	"../../examples/gopkg/testdata/dcat.jsonl", "../../examples/gopkg/testdata/prov.jsonl"}

// history is a vocabulary's events followed by random changes over its
// nodes.
func history(t *testing.T, rng *rand.Rand, vocab string, extra int) []wire.Change {
	t.Helper()
	base := testkit.LoadChanges(t, vocab)
	var subjects []string
	for _, ch := range base {
		subjects = append(subjects, ch.Event.Subject)
	}
	subjects = append(slices.Compact(slices.Sorted(slices.Values(subjects))), "urn:t/A", "urn:t/B", "urn:t/C")
	objects := append([]string{rdfsCls, owlClass}, subjects[:20]...)
	preds := []string{"rdfs:domain", "rdfs:range", "rdf:type", "rdfs:subClassOf"}
	out := slices.Clone(base)
	for i := range extra {
		seq := uint64(len(base) + i + 1)
		s := subjects[rng.IntN(len(subjects))]
		var ch wire.Change
		switch rng.IntN(6) {
		case 0:
			ch = testkit.NodeChange(seq, wire.NodeUpdated, s, map[string]any{"rdfs:label": fmt.Sprintf("L%d", rng.IntN(5))})
		case 1:
			ch = testkit.NodeChange(seq, wire.NodeUpdated, s, map[string]any{"rdfs:comment": nil})
		case 2:
			ch = testkit.NodeChange(seq, []wire.ChangeType{wire.NodeRemoved, wire.NodeAdded}[rng.IntN(2)], s, nil)
		case 3, 4:
			ch = testkit.EdgeChange(seq, wire.EdgeAdded, s, preds[rng.IntN(len(preds))], objects[rng.IntN(len(objects))])
		default:
			ch = testkit.EdgeChange(seq, wire.EdgeRemoved, s, preds[rng.IntN(len(preds))], objects[rng.IntN(len(objects))])
		}
		ch.Event.ID = fmt.Sprintf("r%d", seq)
		out = append(out, ch)
	}
	return out
}

// modelSnap is the model at one moment (the index's nodes are never
// changed in place: a shallow copy is a snapshot), to compute what a
// change touched without the index's own bookkeeping.
type modelSnap struct {
	nodes map[string]*Node
	lists map[string][]string // "s"/"p"/"a" keys → members, built on first use
}

func snapOf(x *Index) *modelSnap {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return &modelSnap{nodes: maps.Clone(x.nodes)}
}

func depParts(dep string) []string { return strings.Split(dep, "\x00") }

// value is what a dependency key reads in s, computed by brute force.
func (s *modelSnap) value(dep string) string {
	parts := depParts(dep)
	if parts[0] == "n" {
		if n := s.nodes[parts[1]]; visible(n) {
			b, _ := json.Marshal(n.View())
			return string(b)
		}
		return "-"
	}
	if s.lists == nil {
		s.lists = map[string][]string{}
		for subj, n := range s.nodes {
			if visible(n) {
				s.lists[depAllNodes] = append(s.lists[depAllNodes], subj)
			}
			for _, e := range liveEdges(n) {
				k := depSubjects(e.Predicate, e.Object)
				s.lists[k] = append(s.lists[k], subj)
				k = depPredicate(e.Predicate)
				s.lists[k] = append(s.lists[k], subj+" "+e.Object)
			}
		}
	}
	return strings.Join(slices.Sorted(slices.Values(s.lists[dep])), "\n")
}

// expectedRenders is how many artifacts a change to subject must render:
// its node's own, those whose read sets hold a key whose value changed
// from before to after, and the model-scoped ones never rendered.
func expectedRenders(e *Engine, subject string, reads map[string]indexedReadSet, before, after *modelSnap) int {
	want := map[string]bool{}
	for _, t := range e.Templates().Templates() {
		switch {
		case t.Scope == ScopeNode && t.MatchesSubject(subject):
			want[ArtifactID{Template: t.Name, Node: subject}.key()] = true
		case t.Scope == ScopeModel:
			if _, ok := reads[ArtifactID{Template: t.Name}.key()]; !ok {
				want[ArtifactID{Template: t.Name}.key()] = true
			}
		}
	}
	changed := map[string]bool{}
	for id, rs := range reads {
		for _, d := range rs.Deps {
			c, ok := changed[d]
			if !ok {
				c = before.value(d) != after.value(d)
				changed[d] = c
			}
			if c {
				want[id] = true
			}
		}
	}
	return len(want)
}

// TestIncrementalRegenerationEqualsAFullRender is the property test of
// exact incremental regeneration: random histories over the real
// vocabularies (FOAF, SKOS and DCAT; PROV with REGEN_PROPERTY_SEEDS=4), applied in
// shuffled orders with a restart and template changes, by one engine and
// then by two at once; after each, the deployed tree equals a full render
// of the final model, and in the one-engine run every change renders
// exactly the artifacts whose read sets it touched.
func TestIncrementalRegenerationEqualsAFullRender(t *testing.T) {
	t.Parallel()
	// FOAF, SKOS, DCAT; PROV (seed 4) by hand: its 1,188 events take a
	// minute under -race. REGEN_PROPERTY_SEEDS=N runs seeds 1..N.
	seeds := []uint64{1, 2, 3}
	if n, err := strconv.Atoi(os.Getenv("REGEN_PROPERTY_SEEDS")); err == nil {
		seeds = nil
		for i := range n {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, seed := range seeds {
		vocab := vocabularies[int(seed-1)%len(vocabularies)]
		t.Run(fmt.Sprintf("seed%d-%s", seed, filepath.Base(vocab)), func(t *testing.T) {
			t.Parallel()
			checkIncremental(t, seed, vocab)
		})
	}
}

func checkIncremental(t *testing.T, seed uint64, vocab string) {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := setup(t)
	dir := writeTemplates(t, propertyTemplates(0))
	model := newModel(t, b, "MODEL")
	open := func() *Engine {
		eng, err := NewEngine(b.Ctx, Config{Templates: dir, Model: model})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(eng.Close)
		return eng
	}
	eng := open()
	out := &tree{files: map[string]wire.Artifact{}}
	hist := history(t, rng, vocab, 150)
	order := slices.Clone(hist)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	restartAt, version := rng.IntN(len(order)), 0
	for i, ch := range order {
		if i == restartAt {
			eng.Close()
			eng = open()
		}
		if i%97 == 0 { // a template change
			version++
			writeTemplateFiles(t, dir, propertyTemplates(version))
			arts, err := eng.Regenerate(b.Ctx, testkit.NodeChange(0, wire.TemplateChanged, "class", nil))
			if err != nil {
				t.Fatal(err)
			}
			out.deploy(arts)
		}
		x := eng.Index()
		x.mu.RLock()
		reads := maps.Clone(x.reads)
		x.mu.RUnlock()
		before, n0 := snapOf(x), eng.Renders()
		arts, err := eng.Regenerate(b.Ctx, ch)
		if err != nil {
			t.Fatalf("change %d (%s %s): %v", ch.Seq, ch.Event.ChangeType, ch.Event.Subject, err)
		}
		out.deploy(arts)
		want := expectedRenders(eng, ch.Event.Subject, reads, before, snapOf(x))
		if got := int(eng.Renders() - n0); got != want {
			t.Fatalf("change %d (%s %s) rendered %d artifacts, its read sets say %d", ch.Seq, ch.Event.ChangeType, ch.Event.Subject, got, want)
		}
	}
	requireFullRender(t, b, dir, hist, out)

	// Two engines at once, three workers each, over more random changes.
	other := open()
	more := history(t, rng, vocab, 200)[len(hist)-150:]
	for i := range more {
		more[i].Seq += 150
		more[i].Event.ID = fmt.Sprintf("m%d", more[i].Seq)
	}
	rng.Shuffle(len(more), func(i, j int) { more[i], more[j] = more[j], more[i] })
	work := make(chan wire.Change)
	var wg sync.WaitGroup
	for w := range 6 {
		e := []*Engine{eng, other}[w%2]
		wg.Go(func() {
			for ch := range work {
				arts, err := e.Regenerate(b.Ctx, ch)
				if err != nil {
					t.Errorf("change %d: %v", ch.Seq, err)
					return
				}
				out.deploy(arts)
			}
		})
	}
	for i, ch := range more {
		if i == len(more)/2 { // a template change, seen by the other engine through the model bucket
			writeTemplateFiles(t, dir, propertyTemplates(100))
			work <- testkit.NodeChange(0, wire.TemplateChanged, "class", nil)
		}
		work <- ch
	}
	close(work)
	wg.Wait()
	requireFullRender(t, b, dir, append(slices.Clone(hist), more...), out)
}

func writeTemplateFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// requireFullRender checks out against a full render of hist applied in
// stream order to a fresh model.
func requireFullRender(t *testing.T, b *testkit.Bundle, dir string, hist []wire.Change, out *tree) {
	t.Helper()
	fresh := newModel(t, b, fmt.Sprintf("FULL%d", len(hist)))
	sorted := slices.SortedFunc(slices.Values(hist), func(a, b wire.Change) int { return int(a.Seq) - int(b.Seq) })
	for _, ch := range sorted {
		if _, _, err := fresh.Apply(b.Ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := NewEngine(b.Ctx, Config{Templates: dir, Model: fresh})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	full, err := eng.RenderModel(b.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, got := contents(full), out.contents()
	for p, c := range want {
		if got[p] != c {
			t.Errorf("%s: deployed %q, full render %q", p, abbrev(got[p]), abbrev(c))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: deployed, not in the full render", p)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func abbrev(s string) string { return wire.Abbrev(s, 200) }
