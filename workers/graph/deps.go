package graph

import (
	"maps"
	"reflect"
	"slices"
)

// A dependency key names one thing a render can read from the model, and
// a change can touch. Read sets are sets of them:
//
//	n␀S      node S's view: its properties, its outgoing edges, whether it is alive
//	s␀P␀O    the subjects with an edge P to O (.Node.In, .Model.Subjects, OfType)
//	p␀P      every edge with predicate P (a pattern with subject and object unbound)
//	a        the set of live nodes (.Model.Nodes)
//
// A change touches n␀S when S's view differs, s␀P␀O and p␀P when the edge
// S-P->O appears or disappears (with its subject's liveness), and a when S
// appears or disappears.
const (
	depNodePrefix     = "n\x00"
	depSubjectsPrefix = "s\x00"
	depPredPrefix     = "p\x00"
	depAllNodes       = "a"
)

func depNode(s string) string                   { return depNodePrefix + s }
func depSubjects(p, o string) string            { return depSubjectsPrefix + p + "\x00" + o }
func depPredicate(p string) string              { return depPredPrefix + p }
func sortedDeps(m map[string]struct{}) []string { return slices.Sorted(maps.Keys(m)) }

// visible reports whether a node takes part in queries: it exists and was
// not removed (a node only seen through its own edges is visible).
func visible(n *Node) bool { return n != nil && !n.Removed() }

// liveEdges are the edges of n that queries see: present, on a visible
// node, keyed by EdgeKey.
func liveEdges(n *Node) map[string]Edge {
	out := map[string]Edge{}
	if !visible(n) {
		return out
	}
	for k, e := range n.Edges {
		if e.Present {
			out[k] = e
		}
	}
	return out
}

// touchedKeys are the dependency keys that change from old to new (either
// may be nil: no node).
func touchedKeys(subject string, old, new *Node) map[string]struct{} {
	out := map[string]struct{}{}
	if visible(old) != visible(new) {
		out[depAllNodes] = struct{}{}
	}
	oe, ne := liveEdges(old), liveEdges(new)
	for k, e := range oe {
		if _, ok := ne[k]; !ok {
			touchEdge(out, e)
		}
	}
	for k, e := range ne {
		if _, ok := oe[k]; !ok {
			touchEdge(out, e)
		}
	}
	if !sameView(old, new) {
		out[depNode(subject)] = struct{}{}
	}
	return out
}

func touchEdge(out map[string]struct{}, e Edge) {
	out[depSubjects(e.Predicate, e.Object)] = struct{}{}
	out[depPredicate(e.Predicate)] = struct{}{}
}

// sameView reports whether templates see old and new alike.
func sameView(old, new *Node) bool {
	if (old == nil) != (new == nil) {
		return false
	}
	if old == nil {
		return true
	}
	return reflect.DeepEqual(old.View(), new.View())
}

// everyKey is what a change to n could have touched, whatever n was
// before: the keys a change that wrote nothing (a redelivery whose write
// an earlier delivery made) must assume it touched.
func everyKey(n *Node) map[string]struct{} {
	out := map[string]struct{}{depAllNodes: {}, depNode(n.Subject): {}}
	for _, e := range n.Edges {
		touchEdge(out, e)
	}
	return out
}
