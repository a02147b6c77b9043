package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/internal/testkit"
)

// A rotated password closes the replica's connection for good (the server
// refuses the old credentials on reconnect): the replica exits non-zero so
// that its supervisor restarts it, and a replica started with the new
// password processes events.
func TestRotatedPasswordExitsTheReplicaAndARestartRecovers(t *testing.T) {
	t.Parallel()
	opts := &server.Options{JetStream: true, Users: []*server.User{{Username: "alice", Password: "old-secret"}}}
	srv := testkit.StartNATS(t, opts)
	replica := func(password string) *proc {
		return spawn(t, srv.ClientURL(), []string{"run", "--nats-url", srv.ClientURL(), "--user", "alice",
			"--password", password, "--templates", "../../examples/templates", "--deploy", "dir:" + t.TempDir(),
			"--log-format", "json", "--fetch-wait", "100ms"})
	}
	p := replica("old-secret")
	testkit.WaitFor(t, 30*time.Second, "the replica to start", func() bool { return p.logged("orchestrator started") })
	rotated := opts.Clone()
	rotated.Users = []*server.User{{Username: "alice", Password: "new-secret"}}
	if err := srv.ReloadOptions(rotated); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("exit code after the connection closed = %d, want 1", code)
	}
	if !p.logged("nats connection closed for good") {
		t.Error("no log line says why the replica stopped")
	}

	replica("new-secret")
	_, js := testkit.Client(t, srv.ClientURL(), nats.UserInfo("alice", "new-secret"))
	publishNodes(t, js, 3)
	testkit.WaitFor(t, 60*time.Second, "the events processed after the restart", func() bool {
		return pendingChanges(js) == 0
	})
}
