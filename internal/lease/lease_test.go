package lease_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/regen-dev/regen/internal/lease"
	"github.com/regen-dev/regen/internal/testkit"
)

const ttl = time.Second

type testBundle struct {
	ctx context.Context
	kv  jetstream.KeyValue
}

func setup(t *testing.T) testBundle {
	t.Helper()
	b := testkit.Setup(t)
	kv, err := b.JS.CreateKeyValue(b.Ctx, jetstream.KeyValueConfig{Bucket: "LEASE_TEST", TTL: ttl, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{ctx: b.Ctx, kv: kv}
}

func contender(b testBundle, holder string) *lease.Lease {
	return lease.New(b.kv, lease.Config{Holder: holder, TTL: ttl,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// revision is the lease key's revision and value (0 when absent).
func revision(b testBundle) (uint64, string) {
	e, err := b.kv.Get(b.ctx, lease.KeyDefault)
	if err != nil {
		return 0, ""
	}
	return e.Revision(), string(e.Value())
}

// Two contenders: one wins and renews while the other waits; when the
// winner stops renewing without releasing (a crash), the other takes
// over within the TTL (plus one retry period).
func TestLeaseTakeoverAfterCrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	crashCtx, crash := context.WithCancel(b.ctx)
	a, c := contender(b, "a"), contender(b, "c")
	a.Start(crashCtx)
	testkit.WaitFor(t, 5*time.Second, "a leads", a.Leader)
	c.Start(b.ctx)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	first, _ := revision(b)
	testkit.WaitFor(t, 5*time.Second, "a renews three times while c follows", func() bool {
		if c.Leader() {
			t.Fatal("c leads while a renews")
		}
		rev, holder := revision(b)
		return holder == "a" && rev >= first+3
	})
	crash()
	crashed := time.Now()
	testkit.WaitFor(t, 3*ttl, "c takes over", c.Leader)
	took := time.Since(crashed)
	if a.Leader() {
		t.Fatal("a still leads after its renewals ended")
	}
	if took > ttl+ttl/3+time.Second { // scheduling slack on a loaded machine
		t.Fatalf("takeover took %s, want within TTL (%s) + TTL/3", took, ttl)
	}
	t.Logf("takeover %s after the leader stopped renewing (TTL %s)", took.Round(time.Millisecond), ttl)
	if h, err := lease.CurrentHolder(b.ctx, b.kv, ""); err != nil || h != "c" {
		t.Fatalf("holder = %q, %v; want c", h, err)
	}
}

// A clean stop releases the lease: the other contender takes it at its
// next attempt, well within the TTL.
func TestLeaseReleasedOnStop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, c := contender(b, "a"), contender(b, "c")
	a.Start(b.ctx)
	testkit.WaitFor(t, 5*time.Second, "a leads", a.Leader)
	c.Start(b.ctx)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	if err := a.Stop(b.ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(b.ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if a.Leader() {
		t.Fatal("a leads after Stop")
	}
	if _, holder := revision(b); holder == "a" {
		t.Fatal("the key still names a after Stop: not released")
	}
	testkit.WaitFor(t, ttl, "c takes over", c.Leader)
}

// A contender finding its own name in the key (its earlier process, or
// its own write whose reply was lost) takes the lease at once instead of
// waiting for the key to expire.
func TestLeaseAdoptsItsOwnKey(t *testing.T) {
	t.Parallel()
	tb := testkit.Setup(t)
	kv, err := tb.JS.CreateKeyValue(tb.Ctx, jetstream.KeyValueConfig{Bucket: "LEASE_ADOPT", TTL: time.Minute, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	put, err := kv.Put(tb.Ctx, lease.KeyDefault, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	a := lease.New(kv, lease.Config{Holder: "a", TTL: time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	a.Start(tb.Ctx)
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	testkit.WaitFor(t, 10*time.Second, "a adopts its key (it expires only in a minute)", a.Leader)
	if e, err := kv.Get(tb.Ctx, lease.KeyDefault); err != nil || e.Revision() <= put || string(e.Value()) != "a" {
		t.Fatalf("key after adoption: %v, %v (put at revision %d)", e, err, put)
	}
}

// A holder whose key was taken over (its compare-and-set fails) steps
// down at its next renewal.
func TestLeaseStepsDownOnCASFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := contender(b, "a")
	a.Start(b.ctx)
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	testkit.WaitFor(t, 5*time.Second, "a leads", a.Leader)
	if _, err := b.kv.Put(b.ctx, lease.KeyDefault, []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, ttl, "a steps down", func() bool { return !a.Leader() })
	if _, holder := revision(b); holder != "intruder" {
		t.Fatalf("holder = %q, want the intruder's lease untouched", holder)
	}
}
