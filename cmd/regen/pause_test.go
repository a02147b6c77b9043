package main

import (
	"bytes"
	"context"
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
	if err := pauseCmd(context.Background(), []string{"--nats-url", srv.ClientURL(), "--priority", "urgent"}, &out, &out); err == nil ||
		!strings.Contains(err.Error(), "--priority") {
		t.Fatalf("unknown level: %v", err)
	}
}
