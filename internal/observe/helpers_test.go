package observe_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/orchestrator"
)

// fakeOrch is an Orchestrator whose answers the test sets.
type fakeOrch struct {
	mu       sync.Mutex
	running  bool
	breakers map[string]string
	stats    orchestrator.OrchestrationStats
}

func (f *fakeOrch) InFlight() int    { return 3 }
func (f *fakeOrch) Concurrency() int { return 8 }
func (f *fakeOrch) BatchSize() int   { return 16 }
func (f *fakeOrch) Breakers() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.breakers {
		out[k] = v
	}
	return out
}
func (f *fakeOrch) Stats() orchestrator.OrchestrationStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}
func (f *fakeOrch) LastExecution() *orchestrator.ParallelExecution { return nil }
func (f *fakeOrch) IsRunning() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}

// replicaConfig is a replica on srv with the example templates, a dir
// deployer and the HTTP server on a free loopback port.
func replicaConfig(t *testing.T, srv *testkit.Server, replica string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.URL = srv.ClientURL()
	cfg.Templates = "../../examples/templates"
	cfg.Deploy = []string{"dir:" + t.TempDir()}
	cfg.HTTP = "127.0.0.1:0"
	cfg.Orchestrator.FetchWait = 50 * time.Millisecond
	cfg.Orchestrator.MaxConcurrent = 4
	cfg.Orchestrator.BatchSize = 32
	cfg.Orchestrator.ShutdownGrace = 2 * time.Second
	cfg.Orchestrator.Replica = replica
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startReplica starts a Service; t.Cleanup stops it.
func startReplica(t *testing.T, cfg config.Config) *app.Service {
	t.Helper()
	svc, err := app.Start(testkit.Context(t, 30*time.Second), cfg, discard)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	return svc
}

// publishNodes publishes n valid node_added events and waits for the acks.
func publishNodes(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	for i := range n {
		msg := nats.NewMsg("regen.changes.normal.node_added")
		msg.Data = fmt.Appendf(nil, `{"id":"id-%d","change_type":"node_added","timestamp":"2026-01-01T00:00:00Z",`+
			`"subject":"urn:test:Node%d","properties":{"rdfs:label":"Node %d"}}`, i, i, i)
		msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("id-%d", i))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// discard is the logger of every test.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// client is an HTTP client that keeps no idle connections (goleak).
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, b.String()
}
