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

func TestDLQListReplayPurge(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	startReplica(t, srv, "dlq-test")
	_, js := testkit.Connect(t, srv)
	bad := []byte(`{"id":"dead-1","change_type":"node_added","subject":""}`)
	if _, err := js.Publish(context.Background(), "regen.changes.normal.node_added", bad); err != nil {
		t.Fatal(err)
	}
	dlq := bus.NewDeadLetters(js)
	testkit.WaitFor(t, 30*time.Second, "the dead letter", func() bool {
		list, err := dlq.List(context.Background())
		return err == nil && len(list) == 1
	})
	url := []string{"--nats-url", srv.ClientURL()}
	var out bytes.Buffer
	if err := dlqCmd(context.Background(), append([]string{"list", "--json"}, url...), &out, &out); err != nil {
		t.Fatal(err)
	}
	var dl bus.DeadLetter
	if err := json.Unmarshal(out.Bytes(), &dl); err != nil || dl.ID != "dead-1" || dl.Reason != wire.ReasonMissingSubject {
		t.Fatalf("list --json = %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := dlqCmd(context.Background(), append([]string{"list"}, url...), &out, &out); err != nil ||
		!strings.Contains(out.String(), wire.ReasonMissingSubject) || !strings.HasPrefix(out.String(), "ID") {
		t.Fatalf("list table: %q (%v)", out.String(), err)
	}
	if err := dlqCmd(context.Background(), append([]string{"replay"}, url...), &out, &out); err == nil {
		t.Fatal("replay without --id or --all accepted")
	}
	out.Reset()
	if err := dlqCmd(context.Background(), append([]string{"replay", "--id", "dead-1"}, url...), &out, &out); err != nil ||
		!strings.Contains(out.String(), "replayed 1") {
		t.Fatalf("replay: %q (%v)", out.String(), err)
	}
	// Still invalid: the replica dead-letters it again, then purge empties the DLQ.
	testkit.WaitFor(t, 30*time.Second, "the replayed event back in the DLQ", func() bool {
		list, err := dlq.List(context.Background())
		return err == nil && len(list) == 1
	})
	if err := dlqCmd(context.Background(), append([]string{"purge"}, url...), &out, &out); err != nil {
		t.Fatal(err)
	}
	if list, _ := dlq.List(context.Background()); len(list) != 0 {
		t.Fatalf("purge left %d", len(list))
	}
}
