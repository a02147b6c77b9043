// Package lease is a leadership lease over a JetStream KV key: at most
// one holder at a time, lost within the bucket's TTL when its holder
// stops renewing (a crash), handed over on a clean stop. It is river's
// leader election on NATS: acquire with Create (only when the key is
// absent), renew with Update at the last revision (compare-and-set), and
// step down when the compare fails.
//
//	kv, _ := js.KeyValue(ctx, wire.LeaderBucket) // TTL = Config.TTL, history 1
//	l := lease.New(kv, lease.Config{Holder: "host-1234", TTL: 3 * time.Minute})
//	l.Start(ctx)
//	defer l.Stop(context.Background())
//	if l.Leader() { ... }
package lease

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KeyDefault is the key the lease is held under.
const KeyDefault = "leader"

// Config configures a Lease. Holder and TTL are required.
type Config struct {
	// Key is the KV key of the lease (KeyDefault).
	Key string
	// Holder names this contender; it is the key's value while it leads.
	Holder string
	// TTL must equal the bucket's TTL (its MaxAge): a key not renewed for
	// TTL is gone, and another contender may take it. The holder renews
	// every TTL/3 and trusts its lease for at most TTL after a renewal
	// was sent.
	TTL time.Duration
	// Logger receives leadership changes and failed renewals (slog.Default()).
	Logger *slog.Logger
}

// Lease contends for, holds and renews one leadership key. Start, Stop
// and Leader are safe from any goroutine; Stop is safe to call twice.
type Lease struct {
	kv  jetstream.KeyValue
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	rev        uint64    // revision of our write while we hold it, else 0
	validUntil time.Time // we lead until then unless a renewal succeeds
	lastRev    uint64    // rev when the renewals ended, for Stop's release
	cancel     context.CancelFunc
	done       chan struct{}
}

// New returns a lease contender that has not started.
func New(kv jetstream.KeyValue, cfg Config) *Lease {
	cfg.Key = cmp.Or(cfg.Key, KeyDefault)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Lease{kv: kv, cfg: cfg, log: cfg.Logger.With(slog.String("component", "lease"), slog.String("key", cfg.Key))}
}

// Start tries to acquire the lease now, then every TTL/3 renews it while
// held or tries again while not. Cancelling ctx ends the renewals without
// releasing the lease (as a crash would: it expires within TTL); Stop
// releases it. A second Start does nothing.
func (l *Lease) Start(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go l.loop(ctx, l.done)
}

func (l *Lease) loop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer l.lose()
	t := time.NewTicker(max(l.cfg.TTL/3, time.Millisecond))
	defer t.Stop()
	for {
		l.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runOnce renews the lease when held, else tries to acquire it. Each
// request is bounded by TTL/3.
func (l *Lease) runOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(l.cfg.TTL/3, time.Millisecond))
	defer cancel()
	sent := time.Now()
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	var err error
	if rev == 0 {
		rev, err = l.kv.Create(ctx, l.cfg.Key, []byte(l.cfg.Holder))
	} else {
		rev, err = l.kv.Update(ctx, l.cfg.Key, []byte(l.cfg.Holder), rev)
	}
	if casFailed(err) {
		rev, err = l.adopt(ctx, err)
	}
	l.settle(ctx, sent, rev, err)
}

// adopt renews the lease when the key that failed a compare-and-set
// (casErr) holds this contender's own name: its own write whose reply was
// lost (a timed-out Update the server applied), or its own earlier
// process (a restart under the same replica name). Anyone else's key
// gives casErr back.
func (l *Lease) adopt(ctx context.Context, casErr error) (uint64, error) {
	e, err := l.kv.Get(ctx, l.cfg.Key)
	if err != nil || string(e.Value()) != l.cfg.Holder {
		return 0, casErr
	}
	return l.kv.Update(ctx, l.cfg.Key, []byte(l.cfg.Holder), e.Revision())
}

// settle records the outcome of a request sent at sent.
func (l *Lease) settle(ctx context.Context, sent time.Time, rev uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := l.rev != 0
	switch {
	case err == nil:
		l.rev, l.validUntil = rev, sent.Add(l.cfg.TTL)
		if !held {
			l.log.InfoContext(ctx, "leadership acquired", slog.String("holder", l.cfg.Holder))
		}
	case casFailed(err):
		// Create: someone else holds it. Update: someone took it over.
		if held {
			l.log.WarnContext(ctx, "leadership lost", slog.String("holder", l.cfg.Holder))
		}
		l.rev, l.validUntil = 0, time.Time{}
	case held && ctx.Err() == nil:
		l.log.WarnContext(ctx, "lease not renewed", slog.Any("error", err))
	}
}

// casFailed is whether err says the key is not at the expected revision:
// another contender holds it (Create) or took it over (Update, Delete).
func casFailed(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// lose forgets the lease (without releasing it), keeping its revision
// for Stop.
func (l *Lease) lose() {
	l.mu.Lock()
	l.lastRev, l.rev, l.validUntil = l.rev, 0, time.Time{}
	l.mu.Unlock()
}

// Leader reports whether this contender holds the lease now: its last
// write succeeded less than TTL ago and no compare-and-set failed since.
func (l *Lease) Leader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev != 0 && time.Now().Before(l.validUntil)
}

// CurrentHolder returns who holds the lease under key in kv ("" when
// nobody does).
func CurrentHolder(ctx context.Context, kv jetstream.KeyValue, key string) (string, error) {
	e, err := kv.Get(ctx, cmp.Or(key, KeyDefault))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease holder: %w", err)
	}
	return string(e.Value()), nil
}

// Stop ends the renewals and, when the lease is held, releases it (a
// delete at its revision, so that a lease already taken over is left
// alone), waiting at most ctx for the delete. Safe to call twice and
// before Start.
func (l *Lease) Stop(ctx context.Context) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel = nil
	l.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	l.mu.Lock()
	rev := l.lastRev
	l.mu.Unlock()
	if rev == 0 {
		return nil
	}
	err := l.kv.Delete(ctx, l.cfg.Key, jetstream.LastRevision(rev))
	if err != nil && !casFailed(err) {
		return fmt.Errorf("release lease %s: %w", l.cfg.Key, err)
	}
	return nil
}
