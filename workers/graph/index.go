package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
)

// TemplatesKey is the model-bucket key a replica writes when it processes
// template_changed; every replica's index sees the write and reloads its
// templates before any render at or after that revision.
const TemplatesKey = "t.templates"

// touchedLogSize is how many model writes the index remembers the touched
// keys of; a render older than that is assumed touched (re-rendered).
const touchedLogSize = 1 << 16

// Index is every replica's in-memory copy of the model bucket, kept by a
// KV watcher: the nodes, the reverse-edge and per-predicate indexes the
// queries use, the read sets with their reverse index (which artifacts
// read a key), and the keys each recent write touched. Everything in it
// is derived from the last-writer-wins node registers, so every replica,
// whatever order it saw the changes in, converges to the same indexes.
//
// Rev is the highest bucket revision applied; Wait blocks until it
// reaches a revision, which is how a replica reads its own writes.
type Index struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu      sync.RWMutex
	rev     uint64
	nodes   map[string]*Node               // subject → node
	nodeRev map[string]uint64              // subject → the node's KV revision
	in      map[string]map[string]struct{} // EdgeKey(P, O) → subjects with a live edge P→O
	byPred  map[string]map[string]struct{} // P → EdgeKey(S, O) of live edges
	reads   map[string]indexedReadSet      // ArtifactID.key → read set
	rsKeys  map[string]string              // read set KV key → ArtifactID.key
	readers map[string]map[string]struct{} // dep key → ArtifactID.keys reading it
	touched []touchedAt                    // ring of recent writes' touched keys
	next    int                            // where the ring's next entry goes

	waitMu  sync.Mutex
	advance chan struct{} // closed and replaced whenever rev moves

	// onTemplates is called, under mu, for every write of the templates
	// key after the initial load: a replica processed template_changed.
	onTemplates func()
	loaded      bool // the initial values are in

	// beforeApply, when set, is called with every watched entry before
	// it is applied, outside mu (tests hold the index back with it).
	beforeApply atomic.Pointer[func(jetstream.KeyValueEntry)]

	stop      context.CancelFunc
	watcher   jetstream.KeyWatcher
	following bool          // follow runs (set before it starts)
	done      chan struct{} // closed when follow ends
}

type indexedReadSet struct {
	ReadSet
	kvRev uint64
}

type touchedAt struct {
	rev  uint64
	keys map[string]struct{}
}

// OpenIndex loads the bucket and keeps following it until Close.
func OpenIndex(ctx context.Context, kv jetstream.KeyValue, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.Default()
	}
	x := &Index{kv: kv, log: log, nodes: map[string]*Node{}, nodeRev: map[string]uint64{}, in: map[string]map[string]struct{}{},
		byPred: map[string]map[string]struct{}{}, reads: map[string]indexedReadSet{},
		rsKeys: map[string]string{}, readers: map[string]map[string]struct{}{},
		touched: make([]touchedAt, 0, 1024), advance: make(chan struct{}), done: make(chan struct{})}
	wctx, stop := context.WithCancel(context.Background())
	w, err := kv.WatchAll(wctx)
	if err != nil {
		stop()
		return nil, fmt.Errorf("model index: watch: %w", err)
	}
	x.stop, x.watcher = stop, w
	if err := x.load(ctx); err != nil {
		x.Close()
		return nil, err
	}
	x.following = true
	go x.follow()
	return x, nil
}

// load applies the initial values, up to the watcher's end-of-initial marker.
func (x *Index) load(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("model index: load: %w", ctx.Err())
		case e, ok := <-x.watcher.Updates():
			if !ok {
				return errors.New("model index: load: watcher closed")
			}
			if e == nil {
				x.mu.Lock()
				x.loaded = true
				x.mu.Unlock()
				return nil
			}
			x.apply(e)
		}
	}
}

func (x *Index) follow() {
	defer close(x.done)
	for e := range x.watcher.Updates() {
		if e != nil {
			x.apply(e)
		}
	}
}

// Close stops following the bucket and waits for the follower to end.
func (x *Index) Close() {
	x.stop()
	_ = x.watcher.Stop()
	if x.following {
		<-x.done
	}
}

// node returns a copy of subject's node that the caller may change, with
// its KV revision; ok is false when the index has none.
func (x *Index) node(subject string) (n Node, rev uint64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p := x.nodes[subject]
	if p == nil {
		return Node{}, 0, false
	}
	n = *p
	n.Props, n.Edges = maps.Clone(p.Props), maps.Clone(p.Edges)
	return n, x.nodeRev[subject], true
}

// readSet returns the stored read set of id, with its KV revision.
func (x *Index) readSet(id ArtifactID) (ReadSet, uint64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.reads[id.key()]
	return r.ReadSet, r.kvRev, ok
}

// Rev returns the highest bucket revision applied.
func (x *Index) Rev() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rev
}

// Wait blocks until the index has applied revision rev, or ctx ends.
func (x *Index) Wait(ctx context.Context, rev uint64) error {
	for {
		x.waitMu.Lock()
		ch := x.advance
		x.waitMu.Unlock()
		if x.Rev() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("model index: wait for revision %d (at %d): %w", rev, x.Rev(), ctx.Err())
		}
	}
}

// apply folds one watched entry into the index.
func (x *Index) apply(e jetstream.KeyValueEntry) {
	if hook := x.beforeApply.Load(); hook != nil {
		(*hook)(e)
	}
	x.mu.Lock()
	switch {
	case strings.HasPrefix(e.Key(), "n."):
		x.applyNode(e)
	case strings.HasPrefix(e.Key(), ReadSetPrefix):
		x.applyReadSet(e)
	case e.Key() == TemplatesKey && x.loaded && x.onTemplates != nil:
		x.onTemplates()
	}
	if e.Revision() > x.rev {
		x.rev = e.Revision()
	}
	x.mu.Unlock()
	x.waitMu.Lock()
	close(x.advance)
	x.advance = make(chan struct{})
	x.waitMu.Unlock()
}

func (x *Index) applyNode(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		return // nodes are never deleted, only tombstoned
	}
	var n Node
	if err := json.Unmarshal(e.Value(), &n); err != nil {
		x.log.Error("model index: undecodable node", slog.String("key", e.Key()), slog.Any("error", err))
		return
	}
	old := x.nodes[n.Subject]
	keys := touchedKeys(n.Subject, old, &n)
	x.unindexEdges(old)
	x.nodes[n.Subject] = &n
	x.nodeRev[n.Subject] = e.Revision()
	x.indexEdges(&n)
	x.remember(e.Revision(), keys)
}

func (x *Index) indexEdges(n *Node) {
	for _, e := range liveEdges(n) {
		addTo(x.in, EdgeKey(e.Predicate, e.Object), n.Subject)
		addTo(x.byPred, e.Predicate, EdgeKey(n.Subject, e.Object))
	}
}

func (x *Index) unindexEdges(n *Node) {
	for _, e := range liveEdges(n) {
		removeFrom(x.in, EdgeKey(e.Predicate, e.Object), n.Subject)
		removeFrom(x.byPred, e.Predicate, EdgeKey(n.Subject, e.Object))
	}
}

func (x *Index) applyReadSet(e jetstream.KeyValueEntry) {
	if old, ok := x.rsKeys[e.Key()]; ok {
		x.dropReadSet(old)
		delete(x.rsKeys, e.Key())
	}
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	rs, err := decodeReadSet(e.Value())
	if err != nil {
		x.log.Error("model index: undecodable read set", slog.String("key", e.Key()), slog.Any("error", err))
		return
	}
	id := rs.ArtifactID.key()
	x.dropReadSet(id)
	x.reads[id] = indexedReadSet{ReadSet: rs, kvRev: e.Revision()}
	x.rsKeys[e.Key()] = id
	for _, d := range rs.Deps {
		addTo(x.readers, d, id)
	}
}

func (x *Index) dropReadSet(id string) {
	if old, ok := x.reads[id]; ok {
		for _, d := range old.Deps {
			removeFrom(x.readers, d, id)
		}
		delete(x.reads, id)
	}
}

// remember logs the keys revision rev touched.
func (x *Index) remember(rev uint64, keys map[string]struct{}) {
	t := touchedAt{rev: rev, keys: keys}
	if len(x.touched) < touchedLogSize {
		x.touched = append(x.touched, t)
		x.next = len(x.touched) % touchedLogSize
		return
	}
	x.touched[x.next] = t
	x.next = (x.next + 1) % touchedLogSize
}

// recent calls fn on the logged writes from the newest back, while fn
// returns true; it reports whether the log may have lost older writes.
// Callers hold mu.
func (x *Index) recent(fn func(touchedAt) bool) (truncated bool) {
	n := len(x.touched)
	for i := range n {
		t := x.touched[(x.next-1-i+2*n)%n]
		if !fn(t) {
			return false
		}
	}
	return n == touchedLogSize
}

// touchedBy returns the keys the write at revision rev touched; ok is
// false when the index no longer remembers it. Callers hold mu.
func (x *Index) touchedBy(rev uint64) (keys map[string]struct{}, ok bool) {
	x.recent(func(t touchedAt) bool {
		if t.rev == rev {
			keys, ok = t.keys, true
		}
		return t.rev > rev
	})
	return keys, ok
}

// touchedSince reports whether a write after revision rev touched one of
// deps (true too when the log no longer reaches back to rev). Callers
// hold mu.
func (x *Index) touchedSince(rev uint64, deps []string) bool {
	hit, reached := false, false
	truncated := x.recent(func(t touchedAt) bool {
		if t.rev <= rev {
			reached = true
			return false
		}
		for _, d := range deps {
			if _, ok := t.keys[d]; ok {
				hit = true
				return false
			}
		}
		return true
	})
	return hit || truncated && !reached
}

// readersOf returns the artifacts whose read sets hold one of keys.
// Callers hold mu.
func (x *Index) readersOf(keys map[string]struct{}) map[string]struct{} {
	out := map[string]struct{}{}
	for k := range keys {
		for id := range x.readers[k] {
			out[id] = struct{}{}
		}
	}
	return out
}

func addTo(m map[string]map[string]struct{}, k, v string) {
	s := m[k]
	if s == nil {
		s = map[string]struct{}{}
		m[k] = s
	}
	s[v] = struct{}{}
}

func removeFrom(m map[string]map[string]struct{}, k, v string) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}
