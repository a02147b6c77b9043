package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// loopForever never ends and never writes: only abandoning it frees the
// worker that runs it.
const loopForever = "---\nname: loop\nmatch:\n  subjects: [\"urn:loop:*\"]\n" +
	"output: \"loop/{{ .Node.LocalName }}.txt\"\n---\n{{ range 100000000000000 }}{{ end }}\n"

// A template that loops without end on an event must not hold a replica:
// the render is abandoned at the event's deadline, the event is
// dead-lettered with reason render_timeout on its first delivery, the
// events after it are processed, and one SIGTERM stops the replica within
// its shutdown grace.
func TestALoopingTemplateCannotStallTheReplica(t *testing.T) {
	t.Parallel()
	tmpl := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmpl, "loop.tmpl"), []byte(loopForever), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, data, out := testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	p := startRegen(t, addr, data, out, "--templates", tmpl, "--event-timeout", "1s",
		"--shutdown-grace", "2s", "--max-concurrent", "2")
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, 1) // id-0, a node the loop template does not match
	ctx := testkit.Context(t, 30*time.Second)
	for _, id := range []string{"loop-1", "loop-2"} {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = []byte(`{"id":"` + id + `","change_type":"node_added","subject":"urn:loop:` + id + `"}`)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	dlq := bus.NewDeadLetters(js)
	testkit.WaitFor(t, 30*time.Second, "both looping events dead-lettered", func() bool {
		list, err := dlq.List(ctx)
		return err == nil && len(list) == 2
	})
	list, _ := dlq.List(ctx)
	for _, dl := range list {
		if dl.Reason != wire.ReasonRenderTimeout || dl.Deliveries != 1 {
			t.Errorf("dead letter %s: reason %s after %d deliveries, want %s on the first",
				dl.ID, dl.Reason, dl.Deliveries, wire.ReasonRenderTimeout)
		}
	}
	publishNodes(t, js, 3) // id-0 again (deduplicated), id-1, id-2
	testkit.WaitFor(t, 30*time.Second, "the events after the loops processed", func() bool {
		return pendingChanges(js) == 0
	})
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code after one SIGTERM = %d, want 0", code)
	}
}
