package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/workers/deploy"
)

// deployTwice deploys v1 then v2 of a/x.txt into root as a replica's
// target dir:root does, so that v1 is the previous version; ledger is nil
// without a server.
func deployTwice(t *testing.T, root string, ledger *deploy.Ledger) {
	t.Helper()
	d := &deploy.Dir{Root: root, Ledger: ledger}
	for rev, content := range []string{"v1", "v2"} {
		a := wire.Artifact{Path: "a/x.txt", Content: []byte(content), Hash: wire.ContentHash([]byte(content)), Revision: uint64(rev + 1)}
		if _, err := d.Deploy(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func serverLedger(t *testing.T, srv *testkit.Server, root string) *deploy.Ledger {
	t.Helper()
	_, js := testkit.Connect(t, srv)
	kv, err := js.KeyValue(context.Background(), wire.ArtifactBucket)
	if err != nil {
		t.Fatal(err)
	}
	return deploy.NewLedger(kv, "dir:"+root)
}

// rollback runs `regen rollback args...` and returns its exit code, stdout
// and stderr.
func rollback(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := realMain(testkit.Context(t, 30*time.Second), append([]string{"rollback"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func requireContent(t *testing.T, p, want string) {
	t.Helper()
	if got, err := os.ReadFile(p); err != nil || string(got) != want {
		t.Fatalf("%s holds %q (%v), want %q", p, got, err, want)
	}
}

func TestRollbackRestoresThePreviousVersionAndRecordsIt(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	root := t.TempDir()
	ledger := serverLedger(t, srv, root)
	deployTwice(t, root, ledger)
	file := filepath.Join(root, "a", "x.txt")
	// The flags may follow PATH.
	code, out, errOut := rollback(t, file, "--deploy-dir", root, "--nats-url", srv.ClientURL())
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	requireContent(t, file, "v1")
	h := wire.ContentHash([]byte("v1"))[:12]
	for _, want := range []string{"restored a/x.txt in " + root + " from .regen/prev/a/x.txt (sha256 " + h + ")",
		"ledger dir:" + root + ": a/x.txt recorded as sha256 " + h} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rec, _, err := ledger.Get(context.Background(), "a/x.txt")
	if err != nil || rec.Hash != wire.ContentHash([]byte("v1")) || rec.Revision != 2 {
		t.Fatalf("ledger record %+v (%v), want v1's hash at revision 2", rec, err)
	}
	code, _, errOut = rollback(t, "--deploy-dir", root, "--nats-url", srv.ClientURL(), file)
	if code != 1 || !strings.Contains(errOut, "rollback a/x.txt: no previous version in .regen/prev") {
		t.Fatalf("a second rollback: exit %d: %s", code, errOut)
	}
}

func TestRollbackRefusesAPathOutsideTheRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, p := range []string{"a/x.txt", root, filepath.Join(root, "..", "x")} {
		code, _, errOut := rollback(t, "--deploy-dir", root, "--no-ledger", p)
		if code != 2 || !strings.Contains(errOut, "is not inside the deploy root "+root) {
			t.Errorf("rollback %s: exit %d: %s", p, code, errOut)
		}
	}
	code, _, errOut := rollback(t, "--deploy-dir", root, "--no-ledger", filepath.Join(root, deploy.PrevDir, "x"))
	if code != 1 || !strings.Contains(errOut, "previous versions are kept") {
		t.Errorf("rollback of a previous version itself: exit %d: %s", code, errOut)
	}
	if code, _, errOut := rollback(t, "--no-ledger"); code != 2 || !strings.Contains(errOut, "exactly one PATH") {
		t.Errorf("no PATH: exit %d: %s", code, errOut)
	}
}

func TestRollbackWithoutTheLedger(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	deployTwice(t, root, nil)
	file := filepath.Join(root, "a", "x.txt")
	// A server named but not answering: nothing is touched.
	code, _, errOut := rollback(t, "--deploy-dir", root, "--nats-url", "nats://"+testkit.FreeAddr(t), "--timeout", "5s", file)
	if code != 1 || !strings.Contains(errOut, "connect") {
		t.Fatalf("unreachable --nats-url: exit %d: %s", code, errOut)
	}
	requireContent(t, file, "v2")
	code, out, errOut := rollback(t, "--deploy-dir", root, "--no-ledger", file)
	if code != 0 || !strings.Contains(out, "restored a/x.txt") || !strings.Contains(errOut, "not updated: --no-ledger") {
		t.Fatalf("--no-ledger: exit %d:\n%s%s", code, out, errOut)
	}
	requireContent(t, file, "v1")
}

// A ledger without a record of the path under that target (the root
// written otherwise than in the replica's deploy setting) is not given
// one; the file is restored and the note says why.
func TestRollbackLeavesALedgerThatDoesNotKnowThePath(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	root := t.TempDir()
	deployTwice(t, root, serverLedger(t, srv, "elsewhere"))
	file := filepath.Join(root, "a", "x.txt")
	code, out, errOut := rollback(t, "--deploy-dir", root, "--nats-url", srv.ClientURL(), file)
	if code != 0 || !strings.Contains(out, "restored a/x.txt") || !strings.Contains(errOut, "it has no record of a/x.txt") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if _, rev, err := serverLedger(t, srv, root).Get(context.Background(), "a/x.txt"); rev != 0 || err != nil {
		t.Fatalf("rollback created a record (rev %d, %v)", rev, err)
	}
	requireContent(t, file, "v1")
}

func TestDefaultDeployDirIsTheFirstDirTarget(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "./out", "objectstore:B, dir:/srv/out,dir:/b": "/srv/out", "dir:": "./out"} {
		if got := defaultDeployDir(in); got != want {
			t.Errorf("defaultDeployDir(%q) = %q, want %q", in, got, want)
		}
	}
}
