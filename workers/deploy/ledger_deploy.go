package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/kvjson"

	"github.com/nats-io/nats.go/jetstream"
)

// Deploy runs do for a unless the ledger says a is unchanged (same hash and
// delete state as recorded) or stale (an older revision than recorded); it
// reports whether do ran and succeeded. It claims the path with
// compare-and-set before do and records the deploy after, so no two
// deployers write one path at once; a path claimed by another deployer
// is waited for, up to BusyWait (the local lock is not held while
// waiting), then yields ErrBusy. If do fails the claim is released and
// the old record restored. Once the claim holds, and before do, it calls
// wire.DeployStarted(ctx): a skip starts nothing.
func (l *Ledger) Deploy(ctx context.Context, a wire.Artifact, do func(context.Context) error) (bool, error) {
	wait := newBusyWait(l.BusyWait)
	for {
		deployed, err := l.deployOnce(ctx, a, do)
		if !errors.Is(err, errHeld) {
			return deployed, err
		}
		if l.onHeld != nil {
			l.onHeld()
		}
		if !wait.next(ctx) {
			return false, fmt.Errorf("deploy %s: %w", a.Path, ErrBusy)
		}
	}
}

// errHeld says another deployer holds the claim on the path right now.
var errHeld = errors.New("claim held by another deployer")

// deployOnce is one try of Deploy, under the path's local lock: errHeld
// when another deployer holds the claim.
func (l *Ledger) deployOnce(ctx context.Context, a wire.Artifact, do func(context.Context) error) (bool, error) {
	defer l.lock(a.Path)()
	prev, prevRev, claimRev, err := l.claim(ctx, a)
	if err != nil || claimRev == 0 {
		return false, err
	}
	wire.DeployStarted(ctx)
	if err := do(ctx); err != nil {
		l.release(context.WithoutCancel(ctx), a.Path, prev, prevRev, claimRev)
		return false, err
	}
	rec := recordOf(a, time.Now())
	if _, err := l.put(context.WithoutCancel(ctx), rec, claimRev); err != nil {
		return true, fmt.Errorf("ledger record %s: %w", a.Path, err)
	}
	return true, nil
}

// claim writes a pending record for a. claimRev is 0 when a must be
// skipped; err is errHeld when another deployer holds the claim.
func (l *Ledger) claim(ctx context.Context, a wire.Artifact) (prev LedgerRecord, prevRev, claimRev uint64, err error) {
	for {
		prev, prevRev, err = l.Get(ctx, a.Path)
		if err != nil {
			return prev, 0, 0, err
		}
		now := time.Now()
		switch l.decide(prev, prevRev, a, now) {
		case skipUnchanged, skipStale:
			return prev, prevRev, 0, nil
		case busy:
			return prev, prevRev, 0, errHeld
		}
		c := recordOf(a, time.Time{})
		c.Pending, c.ClaimedAt = true, now
		claimRev, err = l.put(ctx, c, prevRev)
		if kvjson.IsConflict(err) {
			continue
		}
		if err != nil {
			return prev, prevRev, 0, fmt.Errorf("ledger claim %s: %w", a.Path, err)
		}
		return prev, prevRev, claimRev, nil
	}
}

// release puts back the record a failed deploy had claimed over.
func (l *Ledger) release(ctx context.Context, path string, prev LedgerRecord, prevRev, claimRev uint64) {
	if prevRev == 0 {
		cost.From(ctx).KVOps(1)
		_ = l.kv.Delete(ctx, l.key(path), jetstream.LastRevision(claimRev))
		return
	}
	_, _ = l.put(ctx, prev, claimRev)
}

// Amend changes the record of path with fn under compare-and-set, retrying
// on conflict. It is how a rollback records the content it restored.
func (l *Ledger) Amend(ctx context.Context, path string, fn func(*LedgerRecord)) error {
	defer l.lock(path)()
	for {
		r, rev, err := l.Get(ctx, path)
		if err != nil {
			return err
		}
		r.Path = path
		fn(&r)
		_, err = l.put(ctx, r, rev)
		if !kvjson.IsConflict(err) {
			return err
		}
	}
}

func recordOf(a wire.Artifact, at time.Time) LedgerRecord {
	return LedgerRecord{Path: a.Path, Hash: a.Hash, Revision: a.Revision,
		EventID: a.EventID, DeployedAt: at, Deleted: a.Delete}
}

// busyWait paces the polls of a path another deployer holds: 5 ms, then
// doubling up to 100 ms, for at most its limit.
type busyWait struct {
	until time.Time
	delay time.Duration
}

func newBusyWait(limit time.Duration) *busyWait {
	return &busyWait{until: time.Now().Add(limit), delay: 5 * time.Millisecond}
}

// next waits before the next poll; false when the limit (or ctx) would
// end first.
func (w *busyWait) next(ctx context.Context) bool {
	if time.Now().Add(w.delay).After(w.until) {
		return false
	}
	t := time.NewTimer(w.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	w.delay = min(2*w.delay, 100*time.Millisecond)
	return true
}
