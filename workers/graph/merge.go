package graph

import (
	"github.com/regen-dev/regen/bus/wire"
)

// mergeChange applies ch, whose properties decode to props, to n, last
// writer wins per register by ch.Seq, and reports whether n changed. It is
// commutative and idempotent over changes with distinct sequences, so
// every order of application converges.
func mergeChange(n *Node, ch wire.Change, props map[string]any) bool {
	ev := ch.Event
	switch ev.ChangeType {
	case wire.NodeAdded, wire.NodeUpdated:
		changed := setAlive(n, true, ch.Seq)
		for name, v := range props {
			changed = setProp(n, name, v, ch.Seq) || changed
		}
		return changed
	case wire.NodeRemoved:
		return setAlive(n, false, ch.Seq)
	case wire.EdgeAdded, wire.EdgeUpdated, wire.EdgeRemoved:
		if ev.Predicate == nil || ev.Object == nil {
			return false
		}
		return setEdge(n, *ev.Predicate, *ev.Object, ev.ChangeType != wire.EdgeRemoved, props, ch.Seq)
	}
	return false
}

func setAlive(n *Node, alive bool, seq uint64) bool {
	if seq <= n.AliveSeq {
		return false
	}
	n.Alive, n.AliveSeq = alive, seq
	return true
}

func setProp(n *Node, name string, v any, seq uint64) bool {
	if old, ok := n.Props[name]; ok && seq <= old.Seq {
		return false
	}
	if n.Props == nil {
		n.Props = map[string]Prop{}
	}
	n.Props[name] = Prop{Value: v, Seq: seq, Deleted: v == nil}
	return true
}

func setEdge(n *Node, pred, obj string, present bool, props map[string]any, seq uint64) bool {
	key := EdgeKey(pred, obj)
	if old, ok := n.Edges[key]; ok && seq <= old.Seq {
		return false
	}
	if n.Edges == nil {
		n.Edges = map[string]Edge{}
	}
	e := Edge{Predicate: pred, Object: obj, Seq: seq, Present: present}
	if e.Present && len(props) > 0 {
		e.Props = props
	}
	n.Edges[key] = e
	return true
}
