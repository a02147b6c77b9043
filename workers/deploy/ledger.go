package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/kvjson"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrBusy says another deployer (in this process or another replica) held
// the claim on the artifact's path for longer than the Ledger's BusyWait:
// expected coordination, not a failure. It matches wire.ErrDeferred, so
// the event is given back for later without spending its delivery budget
// or counting against a circuit.
var ErrBusy = fmt.Errorf("artifact path busy: %w", wire.ErrDeferred)

// BusyWaitDefault is how long a deploy waits for another deployer's claim
// on the same path to end before it gives up with ErrBusy.
const BusyWaitDefault = 2 * time.Second

// LeaseDefault is how long a deploy claim blocks other deployers of the same
// path before they may take it over (a claimer that crashed).
const LeaseDefault = 30 * time.Second

// LedgerRecord is what the ledger knows about one artifact path: the JSON
// value of its key in the artifact bucket (wire.ArtifactBucket).
type LedgerRecord struct {
	Path       string    `json:"path"`
	Hash       string    `json:"hash"`
	Revision   uint64    `json:"revision"`
	EventID    string    `json:"event_id"`
	DeployedAt time.Time `json:"deployed_at"`
	Deleted    bool      `json:"deleted"`
	// Pending marks a claim: a deployer is writing this revision now.
	Pending   bool      `json:"pending,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitempty"`
}

// Ledger records what is deployed at each artifact path so that a
// redelivered event does not deploy twice and a stale render never
// overwrites a newer one. Deploys of one path are serialised across
// goroutines and replicas by a compare-and-set claim in the KV bucket. A
// Ledger is safe for concurrent use.
type Ledger struct {
	kv     jetstream.KeyValue
	target string
	// Lease is LeaseDefault unless set before first use.
	Lease time.Duration
	// BusyWait is BusyWaitDefault unless set before first use.
	BusyWait time.Duration
	// onHeld, when set (by tests), is called each time a deploy finds the
	// path held by another deployer, before it waits.
	onHeld func()
	locks  [64]sync.Mutex
}

// NewLedger returns a Ledger over kv (wire.ArtifactBucket), which the caller
// created, for one deploy target (e.g. "dir:/srv/out" or
// "objectstore:REGEN_ARTIFACTS"): each target keeps its own records, so
// deploying to a second target is never skipped because of the first.
func NewLedger(kv jetstream.KeyValue, target string) *Ledger {
	return &Ledger{kv: kv, target: target, Lease: LeaseDefault, BusyWait: BusyWaitDefault}
}

// LedgerKey is the artifact bucket key of an artifact path of a target.
func LedgerKey(target, path string) string {
	sum := sha256.Sum256([]byte(target + "\x00" + path))
	return "a." + hex.EncodeToString(sum[:])[:40]
}

func (l *Ledger) key(path string) string { return LedgerKey(l.target, path) }

// Get returns the record of path and its KV revision (0 when there is none).
func (l *Ledger) Get(ctx context.Context, path string) (LedgerRecord, uint64, error) {
	r, rev, err := kvjson.Get[LedgerRecord](ctx, l.kv, l.key(path))
	if err != nil {
		return LedgerRecord{}, 0, fmt.Errorf("ledger %s: %w", path, err)
	}
	return r, rev, nil
}

func (l *Ledger) put(ctx context.Context, r LedgerRecord, rev uint64) (uint64, error) {
	return kvjson.Put(ctx, l.kv, l.key(r.Path), r, rev)
}

func (l *Ledger) lock(path string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(path))
	mu := &l.locks[h.Sum32()%uint32(len(l.locks))]
	mu.Lock()
	return mu.Unlock
}

// decision is what Deploy does with an artifact given the current record.
type decision int

const (
	deployIt decision = iota
	skipUnchanged
	skipStale
	busy
)

func (l *Ledger) decide(r LedgerRecord, rev uint64, a wire.Artifact, now time.Time) decision {
	switch {
	case rev == 0:
		return deployIt
	case r.Revision > a.Revision:
		return skipStale
	case r.Pending && now.Sub(r.ClaimedAt) < l.Lease:
		return busy
	case !r.Pending && r.Hash == a.Hash && r.Deleted == a.Delete:
		return skipUnchanged
	}
	return deployIt
}
