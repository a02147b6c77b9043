package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"
)

func artifact(p, content string, rev uint64) wire.Artifact {
	return wire.Artifact{Path: p, Content: []byte(content), Hash: wire.ContentHash([]byte(content)),
		Revision: rev, EventID: fmt.Sprintf("ev-%d", rev), Template: "t", Node: "urn:x"}
}

func mustDeploy(t *testing.T, ctx context.Context, d interface {
	Deploy(context.Context, wire.Artifact) (bool, error)
}, a wire.Artifact, want bool) {
	t.Helper()
	got, err := d.Deploy(ctx, a)
	if err != nil || got != want {
		t.Fatalf("Deploy(%s rev %d) = %v, %v; want %v", a.Path, a.Revision, got, err, want)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDirDeployer(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	root := t.TempDir()
	d := &Dir{Root: root, Ledger: NewLedger(b.KV(t, "LEDGER"), "test")}
	f := filepath.Join(root, "a", "b.txt")
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v1", 10), true)
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v1", 11), false) // unchanged
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v0", 5), false)  // stale
	if readFile(t, f) != "v1" {
		t.Fatal("stale or unchanged artifact was written")
	}
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v2", 12), true)
	if readFile(t, f) != "v2" || readFile(t, filepath.Join(root, PrevDir, "a", "b.txt")) != "v1" {
		t.Fatal("v2 not written or v1 not kept")
	}
	if _, err := d.Rollback(b.Ctx, "a/b.txt"); err != nil || readFile(t, f) != "v1" {
		t.Fatalf("rollback: %v", err)
	}
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v2", 12), true) // redeploy after rollback
	del := artifact("a/b.txt", "", 13)
	del.Delete = true
	mustDeploy(t, b.Ctx, d, del, true)
	if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted file still there: %v", err)
	}
	mustDeploy(t, b.Ctx, d, del, false)
	if entries, _ := os.ReadDir(filepath.Join(root, "a")); len(entries) != 0 {
		t.Fatalf("leftover files in the output tree: %v", entries)
	}
	if readFile(t, filepath.Join(root, PrevDir, "a", "b.txt")) != "v2" {
		t.Fatal("the deleted version was not kept for rollback")
	}
}

func TestDirDeployerRefusesEscapes(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root, outside := filepath.Join(parent, "root"), filepath.Join(parent, "outside")
	for _, dir := range []string{root, outside} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	d := &Dir{Root: root}
	for _, p := range []string{"../x", "/etc/x", "a/../../x", ".regen/prev/x", ".regen"} {
		if _, err := d.Deploy(context.Background(), artifact(p, "evil", 1)); !errors.Is(err, wire.ErrPermanent) || !errors.Is(err, wire.ErrUnsafePath) {
			t.Errorf("Deploy(%q): %v", p, err)
		}
	}
	if _, err := d.Deploy(context.Background(), artifact("link/x", "evil", 1)); err == nil {
		t.Error("deploy through a symlink out of root succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside root: %v", entries)
	}
	refuse := errors.New("nope")
	d.Validate = func(context.Context, wire.Artifact) error { return refuse }
	if _, err := d.Deploy(context.Background(), artifact("ok", "x", 1)); !errors.Is(err, wire.ErrPermanent) || !errors.Is(err, refuse) {
		t.Fatalf("validate: %v", err)
	}
}

func TestObjectStoreDeployer(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	store, err := b.JS.CreateObjectStore(b.Ctx, jetstream.ObjectStoreConfig{Bucket: "ARTIFACTS"})
	if err != nil {
		t.Fatal(err)
	}
	d := &ObjectStore{Store: store, Ledger: NewLedger(b.KV(t, "LEDGER"), "test")}
	a := artifact("types/a.go", "package types", 3)
	mustDeploy(t, b.Ctx, d, a, true)
	mustDeploy(t, b.Ctx, d, a, false)
	mustDeploy(t, b.Ctx, d, artifact("types/a.go", "old", 2), false)
	obj, err := store.Get(b.Ctx, "types/a.go")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(obj)
	_ = obj.Close()
	info, err := obj.Info()
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "package types" || info.Headers.Get(HeaderHash) != a.Hash ||
		info.Headers.Get(HeaderRevision) != "3" || info.Metadata["event_id"] != "ev-3" {
		t.Fatalf("object %q %+v", data, info)
	}
	del := artifact("types/a.go", "", 4)
	del.Delete = true
	mustDeploy(t, b.Ctx, d, del, true)
	if _, err := store.GetInfo(b.Ctx, "types/a.go"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("object not deleted: %v", err)
	}
}

func TestLedgerConcurrentDeploys(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	kv := b.KV(t, "LEDGER")
	root := t.TempDir()
	// Two deployers with their own ledgers on one bucket act like replicas.
	deployers := []*Dir{{Root: root, Ledger: NewLedger(kv, "test")}, {Root: root, Ledger: NewLedger(kv, "test")}}
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			a := artifact("hot.txt", fmt.Sprintf("rev %d", i+1), uint64(i+1))
			for {
				_, err := deployers[i%2].Deploy(b.Ctx, a)
				if !errors.Is(err, ErrBusy) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec, _, err := deployers[0].Ledger.Get(b.Ctx, "hot.txt")
	if err != nil || rec.Revision != n || rec.Pending {
		t.Fatalf("record %+v, %v", rec, err)
	}
	if got := readFile(t, filepath.Join(root, "hot.txt")); got != fmt.Sprintf("rev %d", n) {
		t.Fatalf("file holds %q, want the newest revision", got)
	}
}

func TestLedgerReleasesFailedDeploy(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	l := NewLedger(b.KV(t, "LEDGER"), "test")
	boom := errors.New("boom")
	a := artifact("x", "x", 1)
	if ok, err := l.Deploy(b.Ctx, a, func(context.Context) error { return boom }); ok || !errors.Is(err, boom) {
		t.Fatalf("failed deploy: %v %v", ok, err)
	}
	ran := false
	if ok, err := l.Deploy(b.Ctx, a, func(context.Context) error { ran = true; return nil }); !ok || err != nil || !ran {
		t.Fatalf("retry after failure: %v %v", ok, err)
	}
}

// TestDeployersReportTheStartOfAWrite checks that a deployer calls the
// wire.DeployStarted hook once per write, before writing, and never for a
// skip (unchanged or stale), with a ledger and without one.
func TestDeployersReportTheStartOfAWrite(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	for _, tc := range []struct {
		name   string
		ledger *Ledger
	}{{"ledger", NewLedger(b.KV(t, "LEDGER"), "test")}, {"no ledger", nil}} {
		root := t.TempDir()
		d := &Dir{Root: root, Ledger: tc.ledger}
		f := filepath.Join(root, "x.txt")
		var seen []string // the file's content when the hook ran
		ctx := wire.WithDeployStarted(b.Ctx, func() {
			got, err := os.ReadFile(f)
			if err != nil {
				got = []byte("<none>")
			}
			seen = append(seen, string(got))
		})
		mustDeploy(t, ctx, d, artifact("x.txt", "v1", 1), true)
		mustDeploy(t, ctx, d, artifact("x.txt", "v2", 2), true)
		want := []string{"<none>", "v1"}
		if tc.ledger != nil {
			mustDeploy(t, ctx, d, artifact("x.txt", "v2", 3), false) // unchanged
			mustDeploy(t, ctx, d, artifact("x.txt", "v0", 1), false) // stale
		}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("%s: hook saw %q, want %q (once per write, before it)", tc.name, seen, want)
		}
	}
}

// Two replicas wanting one path is coordination, not failure: the second
// waits for the first's claim, and only a claim held past BusyWait gives
// its event back, as a deferral (wire.ErrDeferred), never as a failure.
func TestLedgerWaitsBehindAnotherReplicasClaim(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	kv := b.KV(t, "LEDGER")
	holder, waiter := NewLedger(kv, "test"), NewLedger(kv, "test")
	started, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := holder.Deploy(b.Ctx, artifact("hot", "v1", 1), func(context.Context) error {
			close(started)
			<-release
			return nil
		})
		held <- err
	}()
	<-started
	waiter.BusyWait = 50 * time.Millisecond
	if _, err := waiter.Deploy(b.Ctx, artifact("hot", "v2", 2), func(context.Context) error { return nil }); !errors.Is(err, ErrBusy) ||
		!errors.Is(err, wire.ErrDeferred) {
		t.Fatalf("deploy behind a claim held past BusyWait: %v, want ErrBusy (a deferral)", err)
	}
	waiter.BusyWait = BusyWaitDefault
	var once sync.Once
	waiter.onHeld = func() { once.Do(func() { close(release) }) } // it saw the claim: let the holder finish
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Deploy(b.Ctx, artifact("hot", "v2", 2), func(context.Context) error { return nil })
		done <- err
	}()
	if err := <-held; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("deploy behind a claim that ends: %v, want it to wait and deploy", err)
	}
	if rec, _, _ := waiter.Get(b.Ctx, "hot"); rec.Revision != 2 || rec.Pending {
		t.Fatalf("record = %+v, want revision 2 deployed", rec)
	}
}

// TestRollbackRestoresThePreviousVersionAndRecordsIt checks Rollback after
// an overwrite and after a delete, its ledger record, and its refusals.
func TestRollbackRestoresThePreviousVersionAndRecordsIt(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	root := t.TempDir()
	l := NewLedger(b.KV(t, "LEDGER"), "test")
	d := &Dir{Root: root, Ledger: l}
	f := filepath.Join(root, "a", "b.txt")
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v1", 1), true)
	if _, err := d.Rollback(b.Ctx, "a/b.txt"); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("rollback without a previous version: %v", err)
	}
	mustDeploy(t, b.Ctx, d, artifact("a/b.txt", "v2", 2), true)
	hash, err := d.Rollback(b.Ctx, "a/b.txt")
	if err != nil || hash != wire.ContentHash([]byte("v1")) || readFile(t, f) != "v1" {
		t.Fatalf("rollback = %s, %v; file %q", hash, err, readFile(t, f))
	}
	rec, _, err := l.Get(b.Ctx, "a/b.txt")
	if err != nil || rec.Hash != hash || rec.Revision != 2 || rec.Pending || rec.Deleted {
		t.Fatalf("ledger after rollback: %+v (%v)", rec, err)
	}
	if _, err := d.Rollback(b.Ctx, "a/b.txt"); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("a second rollback: %v", err)
	}
	del := artifact("a/b.txt", "", 3)
	del.Delete = true
	mustDeploy(t, b.Ctx, d, del, true)
	if err := os.Remove(filepath.Join(root, "a")); err != nil { // the emptied folder gone too
		t.Fatal(err)
	}
	if _, err := d.Rollback(b.Ctx, "a/b.txt"); err != nil || readFile(t, f) != "v1" {
		t.Fatalf("rollback of a delete: %v", err)
	}
	if rec, _, _ := l.Get(b.Ctx, "a/b.txt"); rec.Deleted || rec.Revision != 3 {
		t.Fatalf("ledger after rolling back a delete: %+v", rec)
	}
	for _, p := range []string{"../x", "/etc/passwd", ".regen/prev/a/b.txt"} {
		if _, err := d.Rollback(b.Ctx, p); !errors.Is(err, wire.ErrUnsafePath) {
			t.Errorf("Rollback(%q): %v", p, err)
		}
	}
	missing := &Dir{Root: filepath.Join(root, "none")}
	if _, err := missing.Rollback(b.Ctx, "x"); err == nil {
		t.Fatal("rollback in a missing root succeeded")
	}
	if _, err := os.Stat(missing.Root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rollback created the root: %v", err)
	}
}
