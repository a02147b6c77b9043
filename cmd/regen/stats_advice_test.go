package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// Two replicas: only the lease holder publishes scaling_advice, every one
// of scope cluster, and `regen stats` shows it with its forecast.
func TestStatsShowsTheClusterAdvice(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	fast := func(c *config.Config) {
		c.Orchestrator.HealthCheckInterval = 100 * time.Millisecond
		c.StatsInterval = 100 * time.Millisecond
	}
	svcs := map[string]*app.Service{"advice-a": startReplicaWith(t, srv, "advice-a", fast),
		"advice-b": startReplicaWith(t, srv, "advice-b", fast)}
	ctx := testkit.Context(t, 60*time.Second)
	var out bytes.Buffer
	if err := publishCmd(ctx, []string{"--nats-url", srv.ClientURL(), "--synthetic", "300"}, &out, &out); err != nil {
		t.Fatalf("publish: %v (%s)", err, out.String())
	}
	_, js := testkit.Connect(t, srv)
	testkit.WaitFor(t, 30*time.Second, "a cluster advice with a forecast", func() bool {
		a, err := readAdvice(ctx, js)
		return err == nil && a != nil && a.Forecast != nil && a.Forecast.ErrorSamples > 0 && a.CurrentReplicasEstimate == 2
	})
	doc := statsJSON(t, srv)
	a := doc.Advice
	if a == nil || a.Leader == "" || a.Replica != a.Leader || len(a.Levels) != len(wire.Priorities) || a.DrainRate <= 0 {
		t.Fatalf("stats advice %+v", a)
	}
	publishers := map[string]int{}
	err := testkit.ReadTelemetry(ctx, js, wire.ScalingAdvice, func(r wire.TelemetryRecord) {
		if r.Data["scope"] != wire.AdviceScopeCluster {
			t.Errorf("scaling_advice of scope %v from %s", r.Data["scope"], r.Replica)
		}
		publishers[r.Replica]++
	})
	if err != nil || len(publishers) != 1 || publishers[a.Leader] == 0 {
		t.Fatalf("scaling_advice published by %v (%v), want the leader %s alone", publishers, err, a.Leader)
	}
	var table bytes.Buffer
	if err := adviceTable(&table, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CLUSTER ADVICE (by " + a.Leader, "live", "forecast error", "LEVEL", "critical", "low"} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("advice table lacks %q:\n%s", want, table.String())
		}
	}
	t.Logf("stats:\n%s", table.String())
	stopped := time.Now()
	if err := svcs[a.Leader].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, "the other replica's advice", func() bool {
		b, err := readAdvice(ctx, js)
		return err == nil && b != nil && b.Replica != a.Leader && b.Leader == b.Replica
	})
	t.Logf("the other replica advised %s after the leader stopped", time.Since(stopped).Round(time.Millisecond))
}

// statsJSON runs `regen stats --json` against srv.
func statsJSON(t *testing.T, srv *testkit.Server) clusterStats {
	t.Helper()
	var out, errOut bytes.Buffer
	err := statsCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL(), "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("stats: %v (%s)", err, errOut.String())
	}
	var doc clusterStats
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stats output: %v\n%s", err, out.String())
	}
	return doc
}
