package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// A template made 10× more expensive than another on the same nodes shows
// 10× (± 30%) the CPU in `regen cost --json`, read back from the
// cost_report telemetry of a running replica.
func TestRegenCostShowsTheDearTemplateTenTimesTheCheap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, iterations := range map[string]int{"cheap": 800, "dear": 8_000} {
		if err := os.WriteFile(filepath.Join(dir, name+".tmpl"), []byte(testkit.CostTemplate(name, iterations)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := testkit.StartServer(t)
	cfg := config.Default()
	cfg.NATS.URL = srv.ClientURL()
	cfg.Templates = dir
	cfg.Deploy = []string{"dir:" + t.TempDir()}
	cfg.Orchestrator.FetchWait = 50 * time.Millisecond
	cfg.Orchestrator.HealthCheckInterval = 200 * time.Millisecond
	cfg.Orchestrator.AdaptiveOptimization = false
	cfg.Orchestrator.Replica = "cost-e2e"
	svc, err := app.Start(testkit.Context(t, 30*time.Second), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
	})
	_, js := testkit.Connect(t, srv)
	const n = 150
	publishNodes(t, js, n)
	var doc costSummary
	testkit.WaitFor(t, 60*time.Second, "regen cost covering every event", func() bool {
		var out bytes.Buffer
		err := costCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL(), "--json", "--since", "1h"}, &out, io.Discard)
		if err != nil {
			t.Fatalf("regen cost: %v", err)
		}
		doc = costSummary{}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("regen cost output is not JSON: %v\n%s", err, out.String())
		}
		return doc.ByTemplate["dear"].Events >= n && doc.ByTemplate["cheap"].Events >= n
	})
	cheap, dear := doc.ByTemplate["cheap"], doc.ByTemplate["dear"]
	ratio := dear.CPUSeconds / cheap.CPUSeconds
	t.Logf("regen cost: dear %.3fs, cheap %.3fs CPU: ratio %.2f over %d reports", dear.CPUSeconds, cheap.CPUSeconds, ratio, doc.Reports)
	if ratio < 7 || ratio > 13 {
		t.Fatalf("dear/cheap CPU in regen cost = %.2f, want 10 ± 30%%", ratio)
	}
	if len(doc.Replicas) != 1 || doc.Replicas[0] != "cost-e2e" || doc.ByPriority["normal"].Events < n {
		t.Fatalf("regen cost = %+v", doc)
	}
}
