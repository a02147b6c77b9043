package app

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// authServer starts a real nats-server with JetStream that accepts one
// user, alice, with password.
func authServer(t *testing.T, password string) (*server.Server, *server.Options) {
	t.Helper()
	opts := &server.Options{JetStream: true, Users: []*server.User{{Username: "alice", Password: password}}}
	return testkit.StartNATS(t, opts), opts
}

func authConfig(t *testing.T, url, password string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.URL, cfg.NATS.User, cfg.NATS.Password = url, "alice", password
	cfg.Templates = "../../examples/templates"
	cfg.Deploy = []string{"dir:" + t.TempDir()}
	cfg.HTTP = "127.0.0.1:0"
	// Few pull requests while idle: nats-server 2.15.2's auth reload reads
	// a client's message counters unsynchronised (sendAccountAuthErrorEvent)
	// while its read loop updates them, which the race detector reports
	// when the replica is publishing at that moment.
	cfg.Orchestrator.FetchWait = 2 * time.Second
	cfg.Orchestrator.MaxConcurrent, cfg.Orchestrator.BatchSize = 4, 16
	cfg.Orchestrator.Replica = "rotated"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func healthz(t *testing.T, svc *Service) int {
	t.Helper()
	resp, err := http.Get("http://" + svc.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A rotated password makes the server refuse the replica's reconnect, and
// nats.go closes the connection for good: the replica must stop (so that
// its supervisor restarts it), /healthz must say it can make no progress,
// and a replica started with the new password must work.
func TestClosedConnectionStopsTheReplicaAndARestartRecovers(t *testing.T) {
	srv, opts := authServer(t, "old-secret")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := Start(testkit.Context(t, 30*time.Second), authConfig(t, srv.ClientURL(), "old-secret"), log)
	if err != nil {
		t.Fatal(err)
	}
	if code := healthz(t, svc); code != http.StatusOK {
		t.Fatalf("healthz before the rotation = %d", code)
	}
	rotated := opts.Clone()
	rotated.Users = []*server.User{{Username: "alice", Password: "new-secret"}}
	if err := srv.ReloadOptions(rotated); err != nil {
		t.Fatal(err)
	}
	select {
	case <-svc.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the replica kept running on a closed connection")
	}
	if code := healthz(t, svc); code != http.StatusServiceUnavailable {
		t.Errorf("healthz on a closed connection = %d, want 503", code)
	}
	if err := svc.Stop(testkit.Context(t, 30*time.Second)); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("Stop = %v, want ErrConnectionClosed", err)
	}

	restarted, err := Start(testkit.Context(t, 30*time.Second), authConfig(t, srv.ClientURL(), "new-secret"), log)
	if err != nil {
		t.Fatalf("restart with the new password: %v", err)
	}
	t.Cleanup(func() { _ = restarted.Stop(testkit.Context(t, 30*time.Second)) })
	_, js := testkit.Client(t, srv.ClientURL(), nats.UserInfo("alice", "new-secret"))
	publish(t, js, syntheticNodes(5))
	testkit.WaitFor(t, 30*time.Second, "5 events processed after the restart", func() bool {
		return restarted.Orchestrator().Stats().EventsProcessed >= 5
	})
}
