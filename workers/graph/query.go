package graph

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The predicates OfType follows, as the change events name them.
const (
	PredType       = "rdf:type"
	PredSubClassOf = "rdfs:subClassOf"
)

// query is one render's access to the index: every lookup goes through it
// and adds what it read to the render's read set. Each lookup holds the
// index's read lock for itself only, so a render that runs long (or is
// abandoned) never holds the index up; a lookup may so read a later
// revision than the render started at, which only matters to a render
// that a later one replaces (any change after the start to what it read
// renders the artifact again).
type query struct {
	ctx  context.Context
	x    *Index
	deps map[string]struct{}
}

func newQuery(ctx context.Context, x *Index) *query {
	return &query{ctx: ctx, x: x, deps: map[string]struct{}{}}
}

func (q *query) read(dep string) error {
	if q == nil {
		return errNoModel
	}
	q.deps[dep] = struct{}{}
	return q.ctx.Err()
}

var errNoModel = fmt.Errorf("model queries are only available while the engine renders")

// node returns the view of subject (an empty, not alive view for an
// unknown or removed node).
func (q *query) node(subject string) (NodeView, error) {
	if err := q.read(depNode(subject)); err != nil {
		return NodeView{}, err
	}
	q.x.mu.RLock()
	n := q.x.nodes[subject]
	q.x.mu.RUnlock()
	if !visible(n) {
		return NodeView{Subject: subject, LocalName: LocalName(subject), Props: map[string]any{}, q: q}, nil
	}
	v := n.View()
	v.q = q
	return v, nil
}

func (q *query) subjects(pred, obj string) ([]string, error) {
	if err := q.read(depSubjects(pred, obj)); err != nil {
		return nil, err
	}
	q.x.mu.RLock()
	defer q.x.mu.RUnlock()
	return slices.Sorted(maps.Keys(q.x.in[EdgeKey(pred, obj)])), nil
}

func (q *query) objects(subject, pred string) ([]string, error) {
	v, err := q.node(subject)
	if err != nil {
		return nil, err
	}
	return v.Out(pred), nil
}

// pairs returns every live edge with predicate pred as [subject, object].
func (q *query) pairs(pred string) ([][2]string, error) {
	if err := q.read(depPredicate(pred)); err != nil {
		return nil, err
	}
	var out [][2]string
	q.x.mu.RLock()
	for k := range q.x.byPred[pred] {
		s, o, _ := strings.Cut(k, "\x00")
		out = append(out, [2]string{s, o})
	}
	q.x.mu.RUnlock()
	slices.SortFunc(out, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return out, nil
}

// ModelView is what templates see as .Model: queries over the whole
// model, each returning sorted, deterministic results and recording what
// it read in the render's read set.
type ModelView struct {
	q *query
}

// Node returns the view of any node by subject; an unknown or removed
// node has an empty view with Alive false.
func (m ModelView) Node(subject string) (NodeView, error) { return m.q.node(subject) }

// Subjects returns the subjects with an edge pred to obj.
func (m ModelView) Subjects(pred, obj string) ([]string, error) { return m.q.subjects(pred, obj) }

// Objects returns the objects of subject's edges with predicate pred.
func (m ModelView) Objects(subject, pred string) ([]string, error) { return m.q.objects(subject, pred) }

// Nodes returns the subject of every live node.
func (m ModelView) Nodes() ([]string, error) {
	if err := m.q.read(depAllNodes); err != nil {
		return nil, err
	}
	var out []string
	m.q.x.mu.RLock()
	for s, n := range m.q.x.nodes {
		if visible(n) {
			out = append(out, s)
		}
	}
	m.q.x.mu.RUnlock()
	slices.Sort(out)
	return out, nil
}

// OfType returns the nodes with an rdf:type edge to class; with closure
// true, also those typed with any class that is (transitively) an
// rdfs:subClassOf class.
func (m ModelView) OfType(class string, closure ...bool) ([]string, error) {
	classes := []string{class}
	if len(closure) > 0 && closure[0] {
		var err error
		if classes, err = m.subClasses(class); err != nil {
			return nil, err
		}
	}
	seen := map[string]struct{}{}
	for _, c := range classes {
		subs, err := m.q.subjects(PredType, c)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			seen[s] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// SubClasses returns class and every class below it through
// rdfs:subClassOf (transitively, a cycle's members once each), sorted.
func (m ModelView) SubClasses(class string) ([]string, error) { return m.subClasses(class) }

func (m ModelView) subClasses(class string) ([]string, error) {
	seen := map[string]struct{}{class: {}}
	todo := []string{class}
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		subs, err := m.q.subjects(PredSubClassOf, c)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			if _, ok := seen[s]; !ok {
				seen[s] = struct{}{}
				todo = append(todo, s)
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// In returns the subjects with an edge pred to this node.
func (v NodeView) In(pred string) ([]string, error) { return v.q.subjects(pred, v.Subject) }
