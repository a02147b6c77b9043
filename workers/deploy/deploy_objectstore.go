package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Object headers and metadata keys set on every deployed object.
const (
	HeaderHash     = "Regen-Hash"
	HeaderRevision = "Regen-Revision"
	HeaderEventID  = "Regen-Event-Id"
)

// ObjectStore puts artifacts in a JetStream object store (object
// name = artifact path), so every replica and observer sees them. It is
// safe for concurrent use.
type ObjectStore struct {
	// Store is the object store bucket. Required.
	Store jetstream.ObjectStore
	// Ledger skips unchanged and stale artifacts; nil deploys everything.
	Ledger *Ledger
	// Validate, when set, checks each artifact but a delete before it is
	// deployed (Validators.Hook builds it); a refusal leaves what is
	// deployed as it is. Its error is permanent (reason
	// wire.ReasonValidation) unless it matches ErrValidatorUnavailable or
	// ctx has ended.
	Validate func(context.Context, wire.Artifact) error
}

// Deploy puts (or, for a.Delete, deletes) the object a.Path. deployed is
// false when the ledger skipped it as unchanged or stale.
func (d *ObjectStore) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	if d.Store == nil {
		return false, errors.New("objectstore deployer: field Store is nil")
	}
	return deploy(ctx, d.Ledger, d.Validate, a, func(ctx context.Context, p string) error {
		if a.Delete {
			err := d.Store.Delete(ctx, p)
			if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
				return fmt.Errorf("delete object %s: %w", p, err)
			}
			return nil
		}
		_, err := d.Store.Put(ctx, objectMeta(p, a), bytes.NewReader(a.Content))
		return wrapIf(err, "put object "+p)
	})
}

func objectMeta(p string, a wire.Artifact) jetstream.ObjectMeta {
	rev := strconv.FormatUint(a.Revision, 10)
	return jetstream.ObjectMeta{
		Name: p,
		Headers: nats.Header{
			HeaderHash:     []string{a.Hash},
			HeaderRevision: []string{rev},
			HeaderEventID:  []string{a.EventID},
		},
		Metadata: map[string]string{
			"hash": a.Hash, "revision": rev, "event_id": a.EventID,
			"template": a.Template, "node": a.Node, "execution_id": a.ExecutionID,
		},
	}
}
