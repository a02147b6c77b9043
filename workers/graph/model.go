package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/kvjson"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Node is the stored state of one subject: a set of last-writer-wins
// registers, each stamped with the stream sequence of the change that wrote
// it. It is the JSON value of the node's key in the model bucket.
type Node struct {
	Subject  string          `json:"subject"`
	Alive    bool            `json:"alive"`
	AliveSeq uint64          `json:"alive_seq"`
	Props    map[string]Prop `json:"props,omitempty"`
	// Edges is keyed by EdgeKey(predicate, object).
	Edges map[string]Edge `json:"edges,omitempty"`
}

// Prop is one property register. Deleted marks a tombstone (the property was
// set to JSON null) so an older value cannot come back.
type Prop struct {
	Value   any    `json:"value,omitempty"`
	Seq     uint64 `json:"seq"`
	Deleted bool   `json:"deleted,omitempty"`
}

// Edge is one edge register; Present is false once the edge is removed.
type Edge struct {
	Predicate string         `json:"predicate"`
	Object    string         `json:"object"`
	Seq       uint64         `json:"seq"`
	Present   bool           `json:"present"`
	Props     map[string]any `json:"props,omitempty"`
}

// Removed reports whether the node was explicitly removed (and not re-added
// since). A node only ever seen through its edges is not removed.
func (n *Node) Removed() bool { return !n.Alive && n.AliveSeq > 0 }

// EdgeKey is the Edges map key of an edge.
func EdgeKey(predicate, object string) string { return predicate + "\x00" + object }

// NodeKey is the model bucket key of a subject: "n." and 40 hex digits of
// its SHA-256 (KV keys only allow a small alphabet).
func NodeKey(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "n." + hex.EncodeToString(sum[:])[:40]
}

// Model is the source model in a JetStream KV bucket (wire.ModelBucket), one
// key per node. It is safe for concurrent use, and any number of replicas
// may write the same bucket: every write is compare-and-set.
type Model struct {
	kv jetstream.KeyValue
}

// NewModel returns a Model over kv, which the caller created.
func NewModel(kv jetstream.KeyValue) *Model { return &Model{kv: kv} }

// Apply applies ch to its subject's node, last writer wins per field by
// ch.Seq. It returns the node's KV revision after the change (the current
// one when nothing changed) and whether anything was written; applying the
// same change twice writes once. schema_changed and template_changed do not
// touch the model.
func (m *Model) Apply(ctx context.Context, ch wire.Change) (rev uint64, applied bool, err error) {
	_, rev, applied, err = m.apply(ctx, ch)
	return rev, applied, err
}

// apply is Apply that also returns the node state at rev.
func (m *Model) apply(ctx context.Context, ch wire.Change) (Node, uint64, bool, error) {
	subject := ch.Event.Subject
	if ch.Seq == 0 {
		return Node{}, 0, false, fmt.Errorf("apply %s to %s: change has no stream sequence", ch.Event.ID, subject)
	}
	props, err := ch.Event.Properties.Map()
	if err != nil {
		return Node{}, 0, false, fmt.Errorf("apply %s to %s: %w", ch.Event.ID, subject, err)
	}
	for {
		n, rev, err := m.read(ctx, subject)
		if err != nil {
			return Node{}, 0, false, err
		}
		if !mergeChange(&n, ch, props) {
			return n, rev, false, nil
		}
		newRev, err := m.write(ctx, n, rev)
		if kvjson.IsConflict(err) {
			continue // another writer won the race: re-read and reapply
		}
		if err != nil {
			return Node{}, 0, false, fmt.Errorf("apply %s to %s: %w", ch.Event.ID, subject, tooLarge(err))
		}
		return n, newRev, true, nil
	}
}

// applied is the outcome of writing a group of changes to one node.
type applied struct {
	subject string
	rev     uint64 // the node's revision after the group (current one if nothing was written)
	wrote   bool   // whether this call wrote it
}

// applyGroup applies chs, all changes to one node, in one compare-and-set
// write. A change that cannot apply (no stream sequence, properties that
// do not decode) gets its error in errs and is left out. When the merged
// node is too large to store, each change is applied on its own so that
// only the ones that make it too large fail.
//
// cached, when not nil, is a copy of the node as last seen (the engine's
// index) to try the write against first, saving the read; a stale copy
// only costs the compare-and-set, after which the node is read.
func (m *Model) applyGroup(ctx context.Context, chs []wire.Change, errs []error, cached func(string) (Node, uint64, bool)) (applied, error) {
	res := applied{subject: chs[0].Event.Subject}
	props := make([]map[string]any, len(chs))
	for i, ch := range chs {
		props[i], errs[i] = changeProps(ch)
	}
	for attempt := 0; ; attempt++ {
		n, rev, err := m.readOrCached(ctx, res.subject, attempt == 0, cached)
		if err != nil {
			return res, err
		}
		changed := false
		for i, ch := range chs {
			if errs[i] == nil && mergeChange(&n, ch, props[i]) {
				changed = true
			}
		}
		if !changed {
			res.rev = rev
			return res, nil
		}
		newRev, err := m.write(ctx, n, rev)
		if kvjson.IsConflict(err) {
			continue
		}
		if err != nil && len(chs) > 1 && wire.IsPermanent(tooLarge(err)) {
			return m.applyEach(ctx, chs, errs)
		}
		if err != nil {
			return res, fmt.Errorf("apply %s to %s: %w", chs[0].Event.ID, res.subject, tooLarge(err))
		}
		res.rev, res.wrote = newRev, true
		return res, nil
	}
}

// readOrCached is the cached copy of subject's node on the first attempt
// (when there is one), else the stored node.
func (m *Model) readOrCached(ctx context.Context, subject string, first bool, cached func(string) (Node, uint64, bool)) (Node, uint64, error) {
	if first && cached != nil {
		if n, rev, ok := cached(subject); ok {
			return n, rev, nil
		}
	}
	return m.read(ctx, subject)
}

// applyEach applies chs one by one, recording each one's failure.
func (m *Model) applyEach(ctx context.Context, chs []wire.Change, errs []error) (applied, error) {
	res := applied{subject: chs[0].Event.Subject}
	writes := 0
	for i, ch := range chs {
		if errs[i] != nil {
			continue
		}
		_, rev, wrote, err := m.apply(ctx, ch)
		if wire.IsPermanent(err) {
			errs[i] = err
			continue
		}
		if err != nil {
			return res, err
		}
		if wrote {
			writes++
		}
		res.rev = max(res.rev, rev)
	}
	// One write's touched keys are known; several writes' are assumed.
	res.wrote = writes == 1
	return res, nil
}

func changeProps(ch wire.Change) (map[string]any, error) {
	if ch.Seq == 0 {
		return nil, fmt.Errorf("apply %s to %s: change has no stream sequence", ch.Event.ID, ch.Event.Subject)
	}
	props, err := ch.Event.Properties.Map()
	if err != nil {
		return nil, fmt.Errorf("apply %s to %s: %w", ch.Event.ID, ch.Event.Subject, err)
	}
	return props, nil
}

// Get returns the node of subject and its KV revision; an unknown subject is
// jetstream.ErrKeyNotFound.
func (m *Model) Get(ctx context.Context, subject string) (Node, uint64, error) {
	n, rev, err := m.read(ctx, subject)
	if err == nil && rev == 0 {
		err = fmt.Errorf("model get %s: %w", subject, jetstream.ErrKeyNotFound)
	}
	return n, rev, err
}

// read returns the stored node (an empty one at revision 0 if none).
func (m *Model) read(ctx context.Context, subject string) (Node, uint64, error) {
	n, rev, err := kvjson.Get[Node](ctx, m.kv, NodeKey(subject))
	if err != nil {
		return Node{}, 0, fmt.Errorf("model %s: %w", subject, err)
	}
	if rev == 0 {
		n.Subject = subject
	}
	return n, rev, nil
}

// write stores n with compare-and-set against rev (0 = must not exist).
func (m *Model) write(ctx context.Context, n Node, rev uint64) (uint64, error) {
	return kvjson.Put(ctx, m.kv, NodeKey(n.Subject), n, rev)
}

// All iterates every node in the bucket with its revision. Iteration stops
// at the first error, which is yielded with a zero Node.
func (m *Model) All(ctx context.Context) iter.Seq2[NodeRev, error] {
	return func(yield func(NodeRev, error) bool) {
		keys, err := m.kv.ListKeysFiltered(ctx, "n.>")
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return
		}
		if err != nil {
			yield(NodeRev{}, fmt.Errorf("model list: %w", err))
			return
		}
		defer func() { _ = keys.Stop() }()
		for key := range keys.Keys() {
			nr, ok, err := m.readKey(ctx, key)
			if !ok && err == nil {
				continue // deleted since listed
			}
			if !yield(nr, err) || err != nil {
				return
			}
		}
	}
}

// NodeRev is a node with the KV revision it was read at.
type NodeRev struct {
	Node     Node
	Revision uint64
}

func (m *Model) readKey(ctx context.Context, key string) (NodeRev, bool, error) {
	n, rev, err := kvjson.Get[Node](ctx, m.kv, key)
	if err != nil {
		return NodeRev{}, false, fmt.Errorf("model key %s: %w", key, err)
	}
	return NodeRev{Node: n, Revision: rev}, rev != 0, nil
}

// tooLarge marks a write refused for its size as permanent: the node
// this change would make cannot be stored, whichever replica tries.
func tooLarge(err error) error {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		return wire.PermanentReason(wire.ReasonNodeTooLarge, err)
	}
	return err
}
