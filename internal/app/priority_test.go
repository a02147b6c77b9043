package app

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// publishAt publishes n node_added events of priority p, ids <p>-<i>.
func publishAt(t *testing.T, js jetstream.JetStream, p wire.Priority, n int) {
	t.Helper()
	publishFrom(t, js, p, 0, n)
}

// publishWindow bounds the publishes awaiting their ack, well below the
// client's own limit (PublishAsyncMaxPending, 4,000) past which a publish
// stalls and then fails: on a loaded machine the acks fall behind.
const publishWindow = 512

// publishFrom publishes n node_added events of priority p, ids <p>-<from>
// to <p>-<from+n-1>, asynchronously with at most publishWindow awaiting
// their ack, and waits for every ack; it returns when each was handed to
// the client, indexed like the ids from from.
func publishFrom(t *testing.T, js jetstream.JetStream, p wire.Priority, from, n int) []time.Time {
	t.Helper()
	ctx := testkit.Context(t, 60*time.Second)
	futs := make([]jetstream.PubAckFuture, 0, n)
	sent := make([]time.Time, 0, n)
	acked := 0
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%s-%d", p, i)
		msg := nats.NewMsg(wire.ChangeSubject(p, wire.NodeAdded))
		msg.Data = fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","timestamp":"2026-01-01T00:00:00Z",`+
			`"subject":"urn:test:%s","properties":{"rdfs:label":"Node %s"}}`, id, id, id)
		msg.Header.Set(nats.MsgIdHdr, id)
		sent = append(sent, time.Now())
		fut, err := js.PublishMsgAsync(msg)
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, fut)
		for ; len(futs)-acked > publishWindow; acked++ {
			awaitAck(ctx, t, futs[acked])
		}
	}
	for _, fut := range futs[acked:] {
		awaitAck(ctx, t, fut)
	}
	return sent
}

func awaitAck(ctx context.Context, t *testing.T, fut jetstream.PubAckFuture) {
	t.Helper()
	select {
	case <-fut.Ok():
	case err := <-fut.Err():
		t.Fatalf("publish: %v", err)
	case <-ctx.Done():
		t.Fatal("publish acks did not arrive")
	}
}

// 2,000 low events queued behind a slow engine, then 50 critical ones:
// with priority_levels the critical ones are all done while most low
// ones are still pending; a paused level shows in /metrics; and an event
// of an unknown priority (which no level consumer delivers) is
// dead-lettered with its reason.
func TestCriticalEventsOvertakeALowBacklog(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {
		c.Orchestrator.PriorityLevels = true
		c.Orchestrator.AdaptiveOptimization = false
		c.Orchestrator.BatchSize = 16
		c.Faults = "engine:delay=20ms"
	})
	dl := watchDeploys(t, b.nc)
	svc := b.start(t)
	publishAt(t, b.js, wire.PriorityLow, 2000)
	o := svc.Orchestrator()
	testkit.WaitFor(t, 30*time.Second, "low events under way", func() bool { return o.Stats().EventsProcessed > 0 })
	publishAt(t, b.js, wire.PriorityCritical, 50)
	testkit.WaitFor(t, 30*time.Second, "every critical event deployed", func() bool {
		dl.mu.Lock()
		defer dl.mu.Unlock()
		for i := range 50 {
			if dl.perEvent[fmt.Sprintf("critical-%d", i)] == 0 {
				return false
			}
		}
		return true
	})
	if done := o.Stats().EventsProcessed; done > 1000+50 {
		t.Fatalf("%d events processed before the 50 critical ones were done, want most of the 2,000 low still pending", done)
	}
	if _, err := bus.PauseLevel(testkit.Context(t, 10*time.Second), b.js, b.cfg.Consumer.Name, wire.PriorityLow, time.Time{}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	svc.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body := rec.Body.String(); !strings.Contains(body, `regen_consumer_paused{priority="low"} 1`) ||
		!strings.Contains(body, `regen_consumer_paused{priority="critical"} 0`) {
		t.Fatalf("metrics lack the paused gauges:\n%s", body)
	}
	publishAt(t, b.js, "urgent", 1)
	b.cfg.Orchestrator.Replica = "second"
	b.start(t) // its reapers sweep at start, then every minute
	testkit.WaitFor(t, 30*time.Second, "the unknown priority dead-lettered", func() bool {
		return streamMsgs(t, b.js, wire.DLQStream) == 1
	})
	if dls := testkit.DeadLetters(t, b.js); len(dls) != 1 || dls[0].Reason != wire.ReasonBadNATSSubject {
		t.Fatalf("dead letters %+v", dls)
	}
}
