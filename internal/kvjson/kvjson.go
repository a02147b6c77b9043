// Package kvjson stores JSON values in a JetStream KV bucket with
// compare-and-set, for the model and the deploy ledger.
package kvjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/cost"
)

// Get reads key and decodes its JSON value; a missing key is the zero
// value at revision 0. It counts one KV operation in ctx's cost.Recorder.
func Get[T any](ctx context.Context, kv jetstream.KeyValue, key string) (T, uint64, error) {
	var v T
	cost.From(ctx).KVOps(1)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return v, 0, nil
	}
	if err != nil {
		return v, 0, fmt.Errorf("get: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, 0, fmt.Errorf("decode: %w", err)
	}
	return v, e.Revision(), nil
}

// Put stores v under key with compare-and-set against rev (0 = the key
// must not exist) and returns the new revision. It counts one KV
// operation in ctx's cost.Recorder.
func Put(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	cost.From(ctx).KVOps(1)
	data, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	if rev == 0 {
		return kv.Create(ctx, key, data)
	}
	return kv.Update(ctx, key, data, rev)
}

// IsConflict reports a lost compare-and-set race.
func IsConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
