package graph

import (
	"fmt"
	"slices"
	"strings"
)

// NodeView is the read-only, deterministically ordered view of a node that
// templates see as .Node.
type NodeView struct {
	// Subject is the node's URI, URN or blank-node id.
	Subject string
	// LocalName is the part after the last '#' or '/', or the whole subject
	// if it has neither; it is empty for subjects ending in '#' or '/'.
	LocalName string
	// Props holds the live (not deleted) properties.
	Props map[string]any
	// Edges holds the present edges, sorted by predicate then object.
	Edges []EdgeView
	// Alive is false once the node was removed.
	Alive bool
	// q answers In during a render (nil outside one).
	q *query
}

// EdgeView is one present outgoing edge.
type EdgeView struct {
	Predicate   string
	Object      string
	ObjectLocal string
	Props       map[string]any
}

// View returns the template view of n.
func (n *Node) View() NodeView {
	v := NodeView{Subject: n.Subject, LocalName: LocalName(n.Subject),
		Props: map[string]any{}, Alive: n.Alive}
	for name, p := range n.Props {
		if !p.Deleted {
			v.Props[name] = p.Value
		}
	}
	for _, e := range n.Edges {
		if e.Present {
			v.Edges = append(v.Edges, EdgeView{Predicate: e.Predicate, Object: e.Object,
				ObjectLocal: LocalName(e.Object), Props: e.Props})
		}
	}
	slices.SortFunc(v.Edges, func(a, b EdgeView) int {
		return strings.Compare(EdgeKey(a.Predicate, a.Object), EdgeKey(b.Predicate, b.Object))
	})
	return v
}

// LocalName returns the part of a URI after its last '#' or '/', or s itself
// when it has neither.
func LocalName(s string) string {
	if i := strings.LastIndexAny(s, "#/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Out returns the objects of the node's present edges with predicate pred,
// sorted.
func (v NodeView) Out(pred string) []string {
	var out []string
	for _, e := range v.Edges {
		if e.Predicate == pred {
			out = append(out, e.Object)
		}
	}
	return out
}

// Has reports whether the node has the edge pred -> obj.
func (v NodeView) Has(pred, obj string) bool {
	return slices.Contains(v.Out(pred), obj)
}

// Prop returns the property name, or nil when it is not set.
func (v NodeView) Prop(name string) any { return v.Props[name] }

// Text returns the property name as text: a list's items joined with "; ",
// "" when it is not set.
func (v NodeView) Text(name string) string { return toText(v.Props[name], "; ") }

// First returns the first value of the property name as text (the value
// itself when it is not a list), "" when it is not set.
func (v NodeView) First(name string) string {
	if l, ok := v.Props[name].([]any); ok {
		if len(l) == 0 {
			return ""
		}
		return toText(l[0], "")
	}
	return toText(v.Props[name], "")
}

func toText(x any, sep string) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = toText(e, sep)
		}
		return strings.Join(parts, sep)
	}
	return fmt.Sprint(x)
}
