package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/orchestrator"
)

// startReplica starts a replica named replica on srv; t.Cleanup stops it.
func startReplica(t *testing.T, srv *testkit.Server, replica string) *app.Service {
	t.Helper()
	return startReplicaWith(t, srv, replica, func(*config.Config) {})
}

// startReplicaWith is startReplica with mod applied to the config last.
func startReplicaWith(t *testing.T, srv *testkit.Server, replica string, mod func(*config.Config)) *app.Service {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.URL = srv.ClientURL()
	cfg.Templates = "../../examples/templates"
	cfg.Deploy = []string{"dir:" + t.TempDir()}
	cfg.Orchestrator.FetchWait = 50 * time.Millisecond
	cfg.Orchestrator.MaxConcurrent = 2
	cfg.Orchestrator.BatchSize = 16
	cfg.Orchestrator.Replica = replica
	mod(&cfg)
	svc, err := app.Start(testkit.Context(t, 30*time.Second), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start %s: %v", replica, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	return svc
}

func TestStatsJSONIsOneDocumentWithEveryReplica(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	startReplica(t, srv, "stats-a")
	startReplica(t, srv, "stats-b")
	var out, errOut bytes.Buffer
	if err := statsCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL(), "--json"}, &out, &errOut); err != nil {
		t.Fatalf("stats: %v (%s)", err, errOut.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	var doc clusterStats
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stats output is not JSON: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Fatalf("more than one JSON document:\n%s", out.String())
	}
	if len(doc.Replicas) != 2 || doc.Replicas[0].Replica != "stats-a" || doc.Replicas[1].Replica != "stats-b" {
		t.Fatalf("replicas = %+v", doc.Replicas)
	}
	if doc.Totals.Replicas != 2 || doc.Totals.Concurrency != 4 {
		t.Fatalf("totals = %+v", doc.Totals)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil || len(raw) != 3 || raw["replicas"] == nil || raw["totals"] == nil ||
		raw["levels"] == nil {
		t.Fatalf("top-level keys: %v (%v)", raw, err)
	}
}

func TestStatsWithoutReplicasPrintsAnEmptyList(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	var out bytes.Buffer
	if err := statsCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL()}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); !strings.HasPrefix(got, `{"replicas":[],"totals":{"replicas":0`) {
		t.Fatalf("stats = %s", got)
	}
}

func TestStatsTable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rs := []observe.ReplicaStats{{Replica: "r1", Host: "h1", PID: 7, Version: "dev", UptimeS: 90, UpdatedAt: now.Add(-2 * time.Second),
		Concurrency: 4, BatchSize: 16, Breakers: map[string]string{"engine": "closed", "deployer": "open"},
		Stats: orchestrator.OrchestrationStats{TotalCycles: 2, AvgCycleTimeMS: 12.5, EventsProcessed: 10, DeploymentsCompleted: 9, Failures: 1}}}
	var out bytes.Buffer
	if err := statsTable(&out, clusterStats{Replicas: rs, Totals: observe.Sum(rs)}, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "REPLICA") || !strings.HasPrefix(lines[2], "TOTAL (1)") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, want := range []string{"r1", "h1", "1m30s", "2s ago", "13ms", "deployer=open,engine=closed"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %s", want, lines[1])
		}
	}
	if !strings.Contains(lines[2], "1 not closed") {
		t.Errorf("total row: %s", lines[2])
	}
}

func TestStatsRegisteredAsACommand(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	if code := realMain(context.Background(), []string{"stats", "--nats-url", "nats://127.0.0.1:1", "--timeout", "200ms"},
		io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "regen stats:") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
