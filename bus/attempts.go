package bus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/kvjson"
)

// AttemptsTTL is how long an Attempts record outlives its last update: an
// event unsettled for longer has its deferrals forgotten (and counted as
// spent deliveries).
const AttemptsTTL = 7 * 24 * time.Hour

// maxErrorText bounds the failure message an Attempts record keeps.
const maxErrorText = 1024

// casAttempts is how many times a record update is tried against a
// concurrent writer (another replica holding the same event after an ack
// wait) before it gives up.
const casAttempts = 4

// Attempts keeps wire.Attempts records in the REGEN_ATTEMPTS bucket, one
// key per stream sequence. It is written only off the success path (a
// deferral, a failure) and read only when an event's raw delivery count
// reaches the budget. Safe for concurrent use.
type Attempts struct {
	kv jetstream.KeyValue
}

// NewAttempts returns the records kept in kv.
func NewAttempts(kv jetstream.KeyValue) *Attempts { return &Attempts{kv: kv} }

func attemptsKey(seq uint64) string { return "seq." + strconv.FormatUint(seq, 10) }

// Get returns the record of the event at stream sequence seq (zero when
// there is none).
func (a *Attempts) Get(ctx context.Context, seq uint64) (wire.Attempts, error) {
	rec, _, err := kvjson.Get[wire.Attempts](ctx, a.kv, attemptsKey(seq))
	if err != nil {
		return rec, fmt.Errorf("attempts %d: %w", seq, err)
	}
	return rec, nil
}

// Deferred records a delivery of seq given back untried.
func (a *Attempts) Deferred(ctx context.Context, seq uint64) (wire.Attempts, error) {
	return a.update(ctx, seq, func(r *wire.Attempts) { r.Deferrals++ })
}

// Failed records a transient failure of a delivery of seq.
func (a *Attempts) Failed(ctx context.Context, seq uint64, cause error) (wire.Attempts, error) {
	return a.update(ctx, seq, func(r *wire.Attempts) {
		r.Failures++
		if cause != nil {
			r.LastError = wire.Abbrev(cause.Error(), maxErrorText)
		}
	})
}

func (a *Attempts) update(ctx context.Context, seq uint64, change func(*wire.Attempts)) (wire.Attempts, error) {
	key := attemptsKey(seq)
	var err error
	for range casAttempts {
		var rec wire.Attempts
		var rev uint64
		if rec, rev, err = kvjson.Get[wire.Attempts](ctx, a.kv, key); err != nil {
			break
		}
		change(&rec)
		if _, err = kvjson.Put(ctx, a.kv, key, rec, rev); err == nil {
			return rec, nil
		}
		if !kvjson.IsConflict(err) {
			break
		}
	}
	return wire.Attempts{}, fmt.Errorf("attempts %d: %w", seq, err)
}
