package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// Two templates that would hold a worker for good: loop ranges 1e14
// times (the work budget refuses it at once), slow runs for seconds within
// the budget (only abandoning it at the deadline frees the worker).
const (
	loopForever = "---\nname: loop\nmatch:\n  subjects: [\"urn:loop:*\"]\n" +
		"output: \"loop/{{ .Node.LocalName }}.txt\"\n---\n{{ range 100000000000000 }}{{ end }}\n"
	slowRender = "---\nname: slow\nmatch:\n  subjects: [\"urn:slow:*\"]\n" +
		"output: \"slow/{{ .Node.LocalName }}.txt\"\n---\n{{ range 300000 }}{{ $x := printf \"%09000d\" 1 }}{{ end }}\n"
)

// A template that would loop for good on an event must not hold a
// replica: it is refused by the work budget (render_too_costly) or
// abandoned at the event's deadline (render_timeout), the event is
// dead-lettered on its first delivery, the events after it are processed,
// and one SIGTERM stops the replica within its shutdown grace.
func TestALoopingTemplateCannotStallTheReplica(t *testing.T) {
	t.Parallel()
	tmpl := t.TempDir()
	for name, body := range map[string]string{"loop.tmpl": loopForever, "slow.tmpl": slowRender} {
		if err := os.WriteFile(filepath.Join(tmpl, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr, data, out := testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	p := startRegen(t, addr, data, out, "--templates", tmpl, "--event-timeout", "300ms",
		"--shutdown-grace", "2s", "--max-concurrent", "2")
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, 1) // id-0, a node the loop template does not match
	ctx := testkit.Context(t, 30*time.Second)
	want := map[string]string{"loop": wire.ReasonRenderTooCostly, "slow": wire.ReasonRenderTimeout}
	for id := range want {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = []byte(`{"id":"` + id + `","change_type":"node_added","subject":"urn:` + id + `:a"}`)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, 30*time.Second, "both events dead-lettered", func() bool {
		return len(testkit.DeadLetters(t, js)) == 2
	})
	for _, dl := range testkit.DeadLetters(t, js) {
		if dl.Reason != want[dl.ID] || dl.Deliveries != 1 {
			t.Errorf("dead letter %s: reason %s after %d deliveries, want %s on the first",
				dl.ID, dl.Reason, dl.Deliveries, want[dl.ID])
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
