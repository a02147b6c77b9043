package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestPauseResumeALevel(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{Levels: wire.Priorities}); err != nil {
		t.Fatal(err)
	}
	url := []string{"--nats-url", srv.ClientURL(), "--priority", "low"}
	var out bytes.Buffer
	if err := pauseCmd(context.Background(), url, &out, &out); err != nil || !strings.Contains(out.String(), "paused regen-workers-low") {
		t.Fatalf("pause: %q (%v)", out.String(), err)
	}
	if paused, err := bus.LevelPaused(ctx, js, wire.ConsumerDefault, wire.PriorityLow); err != nil || !paused {
		t.Fatalf("after pause: paused = %v, %v", paused, err)
	}
	out.Reset()
	if err := resumeCmd(context.Background(), url, &out, &out); err != nil || !strings.Contains(out.String(), "resumed regen-workers-low") {
		t.Fatalf("resume: %q (%v)", out.String(), err)
	}
	if paused, err := bus.LevelPaused(ctx, js, wire.ConsumerDefault, wire.PriorityLow); err != nil || paused {
		t.Fatalf("after resume: paused = %v, %v", paused, err)
	}
	for typ, want := range map[wire.TelemetryType]string{wire.ConsumerPaused: "pause_until", wire.ConsumerResumed: "consumer"} {
		var got []wire.TelemetryRecord
		testkit.WaitFor(t, 10*time.Second, string(typ)+" telemetry", func() bool {
			got = got[:0]
			err := testkit.ReadTelemetry(ctx, js, typ, func(r wire.TelemetryRecord) { got = append(got, r) })
			return err == nil && len(got) == 1
		})
		if got[0].Data["consumer"] != "regen-workers-low" || got[0].Data["priority"] != "low" || got[0].Data[want] == nil {
			t.Fatalf("%s data %v", typ, got[0].Data)
		}
	}
	if err := pauseCmd(context.Background(), []string{"--nats-url", srv.ClientURL(), "--priority", "urgent"}, &out, &out); err == nil ||
		!strings.Contains(err.Error(), "--priority") {
		t.Fatalf("unknown level: %v", err)
	}
}

// The wire form of the pause telemetry, byte for byte.
func TestPauseTelemetryWireForm(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	testkit.RequireSameWire(t, wire.ConsumerPaused, "cli",
		map[string]any{"consumer": "regen-workers-low", "priority": "low", "pause_until": until},
		wire.ConsumerPausedData{Consumer: "regen-workers-low", Priority: wire.PriorityLow, PauseUntil: until})
	testkit.RequireSameWire(t, wire.ConsumerResumed, "cli",
		map[string]any{"consumer": "regen-workers-low", "priority": "low"},
		wire.ConsumerResumedData{Consumer: "regen-workers-low", Priority: wire.PriorityLow})
}

// regen stats shows each level's consumer, its pending count and whether
// it is paused.
func TestStatsShowsTheLevels(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{Levels: wire.Priorities}); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.PauseLevel(ctx, js, wire.ConsumerDefault, wire.PriorityLow, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, wire.ChangeSubject(wire.PriorityLow, wire.NodeAdded), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := statsCmd(ctx, []string{"--nats-url", srv.ClientURL(), "--json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	var cs clusterStats
	if err := json.Unmarshal(out.Bytes(), &cs); err != nil || len(cs.Levels) != 4 {
		t.Fatalf("stats %s (%v)", out.String(), err)
	}
	if low := cs.Levels[3]; low.Consumer != "regen-workers-low" || !low.Paused || low.Pending != 1 || cs.Levels[0].Paused {
		t.Fatalf("levels %+v", cs.Levels)
	}
	out.Reset()
	if err := levelsTable(&out, cs.Levels); err != nil || !strings.Contains(out.String(), "LEVEL") ||
		!strings.Contains(out.String(), "regen-workers-low") {
		t.Fatalf("levels table %q (%v)", out.String(), err)
	}
}
