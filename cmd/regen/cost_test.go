package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// costBundle is a provisioned server and a client to publish cost reports.
type costBundle struct {
	srv    *testkit.Server
	nc     *nats.Conn
	stream jetstream.Stream
}

func setupCost(t *testing.T, cfg bus.ProvisionConfig) costBundle {
	t.Helper()
	srv := testkit.StartServer(t)
	nc, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, wire.TelemetryStream)
	if err != nil {
		t.Fatal(err)
	}
	return costBundle{srv: srv, nc: nc, stream: st}
}

// report publishes one cost_report from replica as bus.Telemetry does and
// returns the time the stream stored it at.
func (b costBundle) report(t *testing.T, replica string, d wire.CostReportData) time.Time {
	t.Helper()
	ctx := testkit.Context(t, 10*time.Second)
	before := b.stored(t)
	tel := bus.NewTelemetry(b.nc, replica)
	if err := tel.Publish(wire.TelemetryEvent{Component: "orchestrator", Data: d}); err != nil {
		t.Fatal(err)
	}
	if err := tel.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the report stored", func() bool { return b.stored(t) == before+1 })
	msg, err := b.stream.GetLastMsgForSubject(ctx, wire.TelemetrySubjectFor(wire.CostReport))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Time
}

func (b costBundle) stored(t *testing.T) uint64 {
	t.Helper()
	info, err := b.stream.Info(testkit.Context(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func costs(events int64, cpu float64, out int64) wire.CostTotals {
	return wire.CostTotals{Events: events, CPUSeconds: cpu, WallSeconds: 2 * cpu, BytesRendered: 2 * out,
		BytesOut: out, KVOps: 3 * events, StageSeconds: map[string]float64{wire.StageRender: cpu}}
}

// costData is a report whose per-dimension costs are the total, split
// over template names, on one source, priority and target.
func costData(total wire.CostTotals, templates map[string]wire.CostTotals, source, priority string) wire.CostReportData {
	return wire.CostReportData{IntervalSeconds: 10, ProcessCPUSeconds: total.CPUSeconds, BusySeconds: total.WallSeconds,
		Total: total, ByTemplate: templates,
		BySource: map[string]wire.CostTotals{source: total}, ByPriority: map[string]wire.CostTotals{priority: total},
		ByTarget: map[string]wire.CostTotals{"dir": total}}
}

// publishWindow stores one report older than the window from r1, then two
// in it (r1 and r2), and returns the cost options of a 1h window whose
// start is just after the old report.
func publishWindow(t *testing.T, b costBundle, extra ...string) costOptions {
	t.Helper()
	old := b.report(t, "r1", costData(costs(1000, 100, 1000), map[string]wire.CostTotals{"stale": costs(1000, 100, 1000)}, "old", "low"))
	b.report(t, "r1", costData(costs(10, 3, 300), map[string]wire.CostTotals{"a": costs(6, 2, 200), "b": costs(4, 1, 100)}, "feed", "high"))
	b.report(t, "r2", costData(costs(5, 1.5, 50), map[string]wire.CostTotals{"a": costs(5, 1.5, 50)}, "api", "high"))
	o, err := parseCost(append([]string{"--nats-url", b.srv.ClientURL(), "--since", "1h"}, extra...), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	o.now = old.Add(time.Hour + time.Nanosecond)
	return o
}

func TestCostSumsTheWindowsReportsOfEveryReplica(t *testing.T) {
	t.Parallel()
	b := setupCost(t, bus.ProvisionConfig{})
	o := publishWindow(t, b, "--json")
	out := costOutput(t, o)
	var got costSummary
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Reports != 2 || strings.Join(got.Replicas, ",") != "r1,r2" {
		t.Fatalf("reports %d from %v, want the 2 in the window from r1,r2", got.Reports, got.Replicas)
	}
	want := costs(15, 4.5, 350)
	if got.Total.Events != want.Events || got.Total.CPUSeconds != want.CPUSeconds || got.Total.BytesOut != want.BytesOut ||
		got.Total.KVOps != want.KVOps || got.Total.StageSeconds[wire.StageRender] != 4.5 {
		t.Fatalf("total = %+v, want %+v", got.Total, want)
	}
	if a := got.ByTemplate["a"]; a.Events != 11 || a.CPUSeconds != 3.5 || len(got.ByTemplate) != 2 {
		t.Fatalf("by_template = %+v", got.ByTemplate)
	}
	if len(got.BySource) != 2 || got.BySource["feed"].Events != 10 || got.ByPriority["high"].Events != 15 {
		t.Fatalf("by_source %+v by_priority %+v", got.BySource, got.ByPriority)
	}
	if !got.Until.Equal(o.now) || !got.Since.Equal(o.now.Add(-time.Hour)) {
		t.Fatalf("window %s..%s, want the hour before %s", got.Since, got.Until, o.now)
	}
}

func TestCostJSONKeys(t *testing.T) {
	t.Parallel()
	b := setupCost(t, bus.ProvisionConfig{})
	o := publishWindow(t, b, "--json")
	out := costOutput(t, o)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"since", "until", "replicas", "reports", "total", "by_template", "by_source", "by_priority", "by_target"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %q in %s", k, out)
		}
	}
	var since time.Time
	if err := json.Unmarshal(doc["since"], &since); err != nil {
		t.Errorf("since is not RFC 3339: %s", doc["since"])
	}
	var targets map[string]map[string]any
	if err := json.Unmarshal(doc["by_target"], &targets); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"events", "cpu_seconds", "wall_seconds", "bytes_out", "kv_ops"} {
		if _, ok := targets["dir"][k]; !ok {
			t.Errorf("by_target.dir has no %q: %s", k, doc["by_target"])
		}
	}
}

func TestCostTextTablesSortedByCPU(t *testing.T) {
	t.Parallel()
	b := setupCost(t, bus.ProvisionConfig{})
	o := publishWindow(t, b)
	out := costOutput(t, o)
	text := string(out)
	for _, want := range []string{"2 replicas, 2 reports; 15 events, cpu 4.500s, wall 9.000s, 700 bytes rendered, 350 bytes out",
		"TEMPLATE", "SOURCE", "PRIORITY", "TARGET", "CPU%"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "stale") {
		t.Errorf("the report before the window was counted:\n%s", text)
	}
	a, bb := strings.Index(text, "\na "), strings.Index(text, "\nb ")
	if a < 0 || bb < a {
		t.Fatalf("template a (3.5 cpu_s) is not before b (1):\n%s", text)
	}
	if row := strings.Fields(text[a:])[0:7]; row[2] != "3.500" || row[6] != "77.8" {
		t.Fatalf("row of a = %q", row)
	}
}

func TestCostTopLimitsEachTable(t *testing.T) {
	t.Parallel()
	b := setupCost(t, bus.ProvisionConfig{})
	o := publishWindow(t, b, "--top", "1")
	out := costOutput(t, o)
	if text := string(out); strings.Contains(text, "\nb ") || !strings.Contains(text, "(1 more)") {
		t.Fatalf("--top 1 output:\n%s", text)
	}
}

func TestCostWithoutReportsSaysSoAndNotesAShortRetention(t *testing.T) {
	t.Parallel()
	b := setupCost(t, bus.ProvisionConfig{TelemetryMaxAge: 30 * time.Minute})
	args := []string{"--nats-url", b.srv.ClientURL()}
	var out bytes.Buffer
	if err := costCmd(testkit.Context(t, 30*time.Second), args, &out, &out); err != nil {
		t.Fatal(err)
	}
	if text := out.String(); !strings.Contains(text, "no cost reports between") || !strings.Contains(text, "keeps telemetry for 30m0s") {
		t.Fatalf("output:\n%s", text)
	}
	out.Reset()
	if err := costCmd(testkit.Context(t, 30*time.Second), append(args, "--json", "--since", "10m"), &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reports":0`, `"replicas":[]`, `"by_template":{}`, `"by_source":{}`, `"by_priority":{}`, `"by_target":{}`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("JSON lacks %s: %s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "notes") {
		t.Errorf("a note with a retention longer than --since: %s", out.String())
	}
}

func TestCostRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ args, want string }{
		{"--since x", "-since"}, {"--since -5m", "--since"}, {"--since 0s", "--since"},
		{"--top -1", "--top"}, {"--timeout 0s", "--timeout"}, {"extra", "no arguments"},
	} {
		var stderr bytes.Buffer
		code := realMain(context.Background(), append([]string{"cost"}, strings.Fields(tc.args)...), &bytes.Buffer{}, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("regen cost %s: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestCostWithoutTheStreamNamesIt(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	err := costCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL()}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), wire.TelemetryStream) {
		t.Fatalf("err = %v", err)
	}
}

// costOutput is what runCost prints for o.
func costOutput(t *testing.T, o costOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := runCost(testkit.Context(t, 30*time.Second), o, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
