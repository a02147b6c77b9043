package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/kvjson"
)

// ArtifactID names one artifact of the model: a template and, for a
// node-scoped template, the node it renders (empty for a model-scoped one).
type ArtifactID struct {
	Template string `json:"template"`
	Node     string `json:"node,omitempty"`
}

// key is the id as one string (map keys).
func (id ArtifactID) key() string { return id.Template + "\x00" + id.Node }

func parseArtifactKey(k string) ArtifactID {
	t, n, _ := strings.Cut(k, "\x00")
	return ArtifactID{Template: t, Node: n}
}

// String is "template" or "template for node".
func (id ArtifactID) String() string {
	if id.Node == "" {
		return id.Template
	}
	return id.Template + " for " + id.Node
}

// ReadSet is what one render of an artifact read, stored in the model
// bucket under ReadSetKey so that it survives restarts and every replica
// sees it: a change re-renders exactly the artifacts whose read sets hold
// a key it touched.
type ReadSet struct {
	ArtifactID
	// Path is the output path the render produced ("" = none), so that a
	// render to another path deletes the old file.
	Path string `json:"path,omitempty"`
	// Deps are the dependency keys read, sorted (see deps.go).
	Deps []string `json:"deps"`
	// Revision is the model revision the render read: a record is only
	// ever replaced by one of a later render.
	Revision uint64 `json:"revision"`
}

// same reports whether r and o record the same reads and path.
func (r ReadSet) same(o ReadSet) bool {
	return r.Path == o.Path && slices.Equal(r.Deps, o.Deps)
}

// ReadSetPrefix starts the model-bucket keys of read sets; node keys
// start with "n.".
const ReadSetPrefix = "r."

// ReadSetKey is the model bucket key of an artifact's read set.
func ReadSetKey(id ArtifactID) string {
	sum := sha256.Sum256([]byte(id.key()))
	return ReadSetPrefix + hex.EncodeToString(sum[:])[:40]
}

// stored is what storeReadSet did.
type stored struct {
	// w is the revision of the write (0: nothing written, or a delete).
	w uint64
	// replaced is the record the write replaced or deleted (its path is
	// to be deleted when it differs).
	replaced *ReadSet
	// newer is the record of a later render that kept its place: the
	// render storing is stale and deploys nothing.
	newer *ReadSet
}

// seen is a stored read set as the index last saw it (kvRev 0: none):
// storeReadSet tries its write against it first, saving a read.
type seen struct {
	rs    ReadSet
	kvRev uint64
}

// storeReadSet writes rs (rs nil deletes the record of id) unless the
// stored record is of a later render. hint, when not nil, is taken for the
// stored record on the first attempt; a stale hint only costs the
// compare-and-set, after which the record is read.
func storeReadSet(ctx context.Context, kv jetstream.KeyValue, id ArtifactID, rs *ReadSet, rev uint64, hint *seen) (stored, error) {
	key := ReadSetKey(id)
	for attempt := 0; ; attempt++ {
		cur, kvRev, err := currentReadSet(ctx, kv, key, attempt == 0, hint)
		if err != nil {
			return stored{}, fmt.Errorf("read set of %s: %w", id, err)
		}
		switch {
		case kvRev != 0 && cur.Revision > rev:
			return stored{newer: &cur}, nil
		case kvRev == 0 && rs == nil:
			return stored{}, nil
		case kvRev != 0 && rs != nil && cur.same(*rs):
			return stored{}, nil
		}
		w, err := writeReadSet(ctx, kv, key, rs, kvRev)
		if kvjson.IsConflict(err) {
			continue
		}
		if err != nil {
			return stored{}, fmt.Errorf("read set of %s: %w", id, err)
		}
		res := stored{w: w}
		if kvRev != 0 {
			res.replaced = &cur
		}
		return res, nil
	}
}

func currentReadSet(ctx context.Context, kv jetstream.KeyValue, key string, first bool, hint *seen) (ReadSet, uint64, error) {
	if first && hint != nil {
		return hint.rs, hint.kvRev, nil
	}
	return kvjson.Get[ReadSet](ctx, kv, key)
}

func writeReadSet(ctx context.Context, kv jetstream.KeyValue, key string, rs *ReadSet, kvRev uint64) (uint64, error) {
	if rs != nil {
		return kvjson.Put(ctx, kv, key, rs, kvRev)
	}
	cost.From(ctx).KVOps(1)
	err := kv.Delete(ctx, key, jetstream.LastRevision(kvRev))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		err = nil
	}
	return 0, err // nothing reads a deleted record: no fence needed
}

func decodeReadSet(data []byte) (ReadSet, error) {
	var rs ReadSet
	err := json.Unmarshal(data, &rs)
	return rs, err
}
