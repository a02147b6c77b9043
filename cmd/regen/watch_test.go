package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// telemetryServer is a provisioned server and a JetStream client.
func telemetryServer(t *testing.T) (*testkit.Server, jetstream.JetStream) {
	t.Helper()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	if err := bus.Provision(testkit.Context(t, 30*time.Second), js, bus.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	return srv, js
}

// publishTelemetry stores one event per type in REGEN_TELEMETRY, the
// "n" data field numbering them from first.
func publishTelemetry(t *testing.T, js jetstream.JetStream, first int, types ...wire.TelemetryType) {
	t.Helper()
	for i, typ := range types {
		data, _ := json.Marshal(wire.TelemetryRecord{ID: fmt.Sprint(first + i), Type: typ, Timestamp: time.Now(),
			Component: "test", Replica: "r1", Data: map[string]any{"n": first + i}})
		if _, err := js.Publish(testkit.Context(t, 10*time.Second), wire.TelemetrySubjectFor(typ), data); err != nil {
			t.Fatal(err)
		}
	}
}

func decodeLines(t *testing.T, lines []string) []wire.TelemetryRecord {
	t.Helper()
	out := make([]wire.TelemetryRecord, 0, len(lines))
	for _, l := range lines {
		var ev wire.TelemetryRecord
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestWatchJSONCountReplaysThenStops(t *testing.T) {
	t.Parallel()
	srv, js := telemetryServer(t)
	publishTelemetry(t, js, 0, wire.RegenerationStarted, wire.RegenerationCompleted, wire.DeploymentCompleted)
	var out bytes.Buffer
	err := watchCmd(testkit.Context(t, 30*time.Second),
		[]string{"--nats-url", srv.ClientURL(), "--json", "--since", "10m", "--count", "3"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	evs := decodeLines(t, strings.Split(strings.TrimSpace(out.String()), "\n"))
	if len(evs) != 3 || evs[0].Type != wire.RegenerationStarted || evs[2].Type != wire.DeploymentCompleted {
		t.Fatalf("events = %+v", evs)
	}
}

func TestWatchContinuesLiveAfterTheReplayWithoutGapsOrDuplicates(t *testing.T) {
	t.Parallel()
	srv, js := telemetryServer(t)
	publishTelemetry(t, js, 0, wire.PerformanceMetric, wire.PerformanceMetric)
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- watchCmd(testkit.Context(t, 30*time.Second),
			[]string{"--nats-url", srv.ClientURL(), "--json", "--since", "1h", "--count", "5"}, out, out)
	}()
	testkit.WaitFor(t, 10*time.Second, "the replayed events", func() bool { return len(out.Lines()) == 2 })
	publishTelemetry(t, js, 2, wire.PerformanceMetric, wire.PerformanceMetric, wire.PerformanceMetric)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, ev := range decodeLines(t, out.Lines()) {
		if n, _ := ev.Data["n"].(float64); int(n) != i {
			t.Fatalf("event %d has n=%v: %s", i, ev.Data["n"], strings.Join(out.Lines(), "\n"))
		}
	}
}

func TestWatchTypeFilter(t *testing.T) {
	t.Parallel()
	srv, js := telemetryServer(t)
	publishTelemetry(t, js, 0, wire.PerformanceMetric, wire.EventRejected, wire.PerformanceMetric,
		wire.BreakerStateChanged, wire.RegenerationCompleted)
	var out bytes.Buffer
	err := watchCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL(), "--since", "1h",
		"--count", "3", "--type", "event_rejected,breaker_state_changed", "--type", "regeneration_completed"}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"event_rejected", "breaker_state_changed", "regeneration_completed"}
	for i, l := range lines {
		fields := strings.Fields(l)
		if len(lines) != 3 || len(fields) < 4 || fields[1] != want[i] || fields[2] != "r1" || fields[3] != fmt.Sprintf("n=%d", []int{1, 3, 4}[i]) {
			t.Fatalf("readable lines:\n%s", out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Fatal("colours in non-terminal output")
	}
}

func TestWatchStopsCleanlyWhenCancelled(t *testing.T) {
	t.Parallel()
	srv, _ := telemetryServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watchCmd(ctx, []string{"--nats-url", srv.ClientURL()}, &testkit.Buffer{}, &testkit.Buffer{})
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch after cancel: %v", err)
	}
}

func TestWatchStopsCleanlyWhenCancelledWhileWatching(t *testing.T) {
	t.Parallel()
	srv, js := telemetryServer(t)
	publishTelemetry(t, js, 0, wire.PerformanceMetric)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() { done <- watchCmd(ctx, []string{"--nats-url", srv.ClientURL(), "--since", "1h"}, out, out) }()
	testkit.WaitFor(t, 10*time.Second, "the replayed event", func() bool { return out.Lines()[0] != "" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch after cancel: %v", err)
	}
}

func TestWatchRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--type", "telemetry.*"}, {"--since", "-1m"}, {"--count", "-2"}, {"extra"}} {
		if err := watchCmd(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("watch %v succeeded", args)
		}
	}
}
