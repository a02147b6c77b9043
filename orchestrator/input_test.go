package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go"
)

// routedMsg is a fakeMsg delivered on subject, with Nats-Msg-Id msgID.
type routedMsg struct {
	*fakeMsg
	subject, msgID string
}

func (m *routedMsg) Subject() string { return m.subject }
func (m *routedMsg) Headers() nats.Header {
	return nats.Header{nats.MsgIdHdr: []string{m.msgID}}
}

// Every rejection names the event in its log line and its event_rejected
// telemetry: by the id the body gave, even when the body is otherwise
// invalid, or by the Nats-Msg-Id header when the body gave none. A
// subject that disagrees with the body is refused on the first delivery.
func TestRejectionNamesTheEvent(t *testing.T) {
	t.Parallel()
	const normal = "regen.changes.normal.node_added"
	msgs := map[string]struct{ subject, body, reason string }{ // by expected event id
		"ev-mismatch": {"regen.changes.normal.node_removed",
			`{"id":"ev-mismatch","change_type":"node_added","subject":"urn:x"}`, wire.ReasonSubjectMismatch},
		"ev-priority": {"regen.changes.bulk.node_added",
			`{"id":"ev-priority","change_type":"node_added","subject":"urn:x"}`, wire.ReasonBadNATSSubject},
		"ev-unknown": {normal, `{"id":"ev-unknown","change_type":"node_exploded","subject":"urn:x"}`,
			wire.ReasonUnknownChangeType},
		"ev-utf8":   {normal, "{\"id\":\"ev-utf8\",\"change_type\":\"node_added\",\"subject\":\"urn:\xff\"}", wire.ReasonBadUTF8},
		"hdr-unset": {normal, `{"id":`, wire.ReasonBadJSON},
	}
	var logs testkit.Buffer
	src, tel, dlq := &fakeSource{}, &fakeTelemetry{}, &fakeDLQ{}
	o, err := New(cfgWith(func(c *Config) { c.Autonomous = false }), Deps{Source: src,
		Engine: &fakeEngine{artifacts: 1}, Deployer: &fakeDeployer{}, DeadLetters: dlq, Telemetry: tel,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	i := 0
	for id, m := range msgs {
		i++
		src.push(&routedMsg{fakeMsg: &fakeMsg{data: []byte(m.body), seq: uint64(i), deliveries: 1},
			subject: m.subject, msgID: id})
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-o.Done()
	if err := o.Stop(context.Background()); !errors.Is(err, ErrEventsFailed) {
		t.Fatalf("Stop = %v, want ErrEventsFailed", err)
	}
	if got := len(dlq.all()); got != len(msgs) {
		t.Fatalf("%d dead letters, want %d on the first delivery", got, len(msgs))
	}
	checkRejectedTelemetry(t, tel, msgs)
	logged := map[string]string{} // event_id -> reason
	for _, line := range logs.Lines() {
		var rec struct {
			Msg     string `json:"msg"`
			EventID string `json:"event_id"`
			Reason  string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if rec.Msg == "event dead-lettered" {
			logged[rec.EventID] = rec.Reason
		}
	}
	for id, m := range msgs {
		if logged[id] != m.reason {
			t.Errorf("log of %s: reason %q, want %q (logged %v)", id, logged[id], m.reason, logged)
		}
	}
}

func checkRejectedTelemetry(t *testing.T, tel *fakeTelemetry, msgs map[string]struct{ subject, body, reason string }) {
	t.Helper()
	tel.mu.Lock()
	defer tel.mu.Unlock()
	seen := map[string]string{}
	for _, ev := range tel.events {
		if d, ok := ev.Data.(wire.EventRejectedData); ok {
			seen[d.EventID] = d.Reason
		}
	}
	for id, m := range msgs {
		if seen[id] != m.reason {
			t.Errorf("event_rejected of %s: reason %q, want %q (seen %v)", id, seen[id], m.reason, seen)
		}
	}
}
