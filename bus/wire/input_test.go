package wire_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
)

// reasonOf is the reason of an *InvalidEventError, "" for nil; it fails
// the test for any other error.
func reasonOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var inv *wire.InvalidEventError
	if !errors.As(err, &inv) || !errors.Is(err, wire.ErrInvalidEvent) {
		t.Fatalf("err = %v, want an InvalidEventError", err)
	}
	return inv.Reason
}

// Invalid UTF-8 anywhere in the payload, and a \u escape of a lone
// surrogate in any string, are refused: the decoder would turn them into
// U+FFFD, so "urn:x\xff" and "urn:x\xfe" would be one node. The event
// comes back as far as it parsed.
func TestDecodeRefusesBadUTF8(t *testing.T) {
	t.Parallel()
	const head = `{"id":"ev-1","change_type":"edge_added","subject":"urn:s","predicate":"p","object":"o"`
	cases := []struct{ name, tail, reason string }{
		{"subject", `,"subject":"urn:x` + "\xff" + `"}`, wire.ReasonBadUTF8},
		{"predicate", `,"predicate":"p` + "\xc3" + `"}`, wire.ReasonBadUTF8},
		{"object", `,"object":"o` + "\xed\xa0\x80" + `"}`, wire.ReasonBadUTF8},
		{"property name", `,"properties":{"k` + "\xf8" + `":1}}`, wire.ReasonBadUTF8},
		{"property value", `,"properties":{"k":["` + "\xe2\x82" + `"]}}`, wire.ReasonBadUTF8},
		{"metadata key", `,"metadata":{"k` + "\x80" + `":"v"}}`, wire.ReasonBadUTF8},
		{"metadata value", `,"metadata":{"k":"` + "\xf4\x90\x80\x80" + `"}}`, wire.ReasonBadUTF8},
		{"unknown field", `,"extra":"` + "\xff" + `"}`, wire.ReasonBadUTF8},
		{"duplicate key", `,"subject":"` + "\xff" + `","subject":"urn:s"}`, wire.ReasonBadUTF8},
		{"lone high surrogate", `,"subject":"urn:\ud800x"}`, wire.ReasonBadUTF8},
		{"lone low surrogate", `,"predicate":"\udc00"}`, wire.ReasonBadUTF8},
		{"high then no low", `,"object":"\ud83d\u0041"}`, wire.ReasonBadUTF8},
		{"high at the end", `,"metadata":{"\uD83D":"v"}}`, wire.ReasonBadUTF8},
		{"surrogate in a property", `,"properties":{"k":{"x":"\udfff"}}}`, wire.ReasonBadUTF8},
		{"surrogate pair", `,"subject":"urn:\ud83d\ude00","properties":{"k":"\uD83D\uDE00"}}`, ""},
		{"escaped backslash before u", `,"subject":"urn:\\ud800"}`, ""},
		{"spelled U+FFFD", `,"subject":"urn:` + "\uFFFD" + `\ufffd"}`, ""},
		{"outside a string", `,"x":1` + "\xff" + `}`, wire.ReasonBadJSON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := wire.DecodeChangeEvent([]byte(head+c.tail), 0)
			if got := reasonOf(t, err); got != c.reason {
				t.Fatalf("reason = %q, want %q (err %v)", got, c.reason, err)
			}
			if ev.ID != "ev-1" {
				t.Fatalf("ID = %q, want the parsed ev-1", ev.ID)
			}
		})
	}
}

// A refused event carries what parsed: its ID above all, for the log and
// the event_rejected telemetry; an ID too long to be valid is cut.
func TestDecodeReturnsWhatParsed(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes
	cases := []struct{ name, in, reason, id string }{
		{"unknown change type", `{"id":"a","change_type":"nope","subject":"s"}`, wire.ReasonUnknownChangeType, "a"},
		{"bad json after the id", `{"id":"a","change_type":7}`, wire.ReasonBadJSON, "a"},
		{"truncated after the id", `{"id":"a","subject":"s`, wire.ReasonBadJSON, "a"},
		{"bad properties", `{"id":"a","change_type":"node_added","subject":"s","properties":[]}`, wire.ReasonBadJSON, "a"},
		{"no id", `{"change_type":"node_added","subject":"s"}`, wire.ReasonMissingID, ""},
		{"id of the wrong type", `{"id":7}`, wire.ReasonBadJSON, ""},
		{"id too long", `{"id":"` + long + `","change_type":"node_added","subject":"s"}`, wire.ReasonBadID, long[:256]},
		{"oversize", `{"id":"a","source":"` + strings.Repeat("x", 2000) + `"}`, wire.ReasonOversize, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := wire.DecodeChangeEvent([]byte(c.in), 1024)
			if got := reasonOf(t, err); got != c.reason {
				t.Fatalf("reason = %q, want %q (err %v)", got, c.reason, err)
			}
			if ev.ID != c.id {
				t.Fatalf("ID = %q, want %q", ev.ID, c.id)
			}
		})
	}
}

func TestCheckSubject(t *testing.T) {
	t.Parallel()
	for _, p := range []wire.Priority{wire.PriorityCritical, wire.PriorityHigh, wire.PriorityNormal, wire.PriorityLow} {
		for _, typ := range wire.ChangeTypes {
			ev := wire.ChangeEvent{ChangeType: typ}
			if err := wire.CheckSubject(ev.NATSSubject(p), &ev); err != nil {
				t.Errorf("%s: %v", ev.NATSSubject(p), err)
			}
		}
	}
	node := wire.ChangeEvent{ChangeType: wire.NodeAdded}
	cases := []struct{ subject, reason string }{
		{"regen.changes.urgent.node_added", wire.ReasonBadNATSSubject},
		{"regen.changes.node_added", wire.ReasonBadNATSSubject},
		{"regen.changes.high", wire.ReasonBadNATSSubject},
		{"regen.changes.high.node_added.x", wire.ReasonBadNATSSubject},
		{"regen.changes.high.node_exploded", wire.ReasonBadNATSSubject},
		{"regen.changes..node_added", wire.ReasonBadNATSSubject},
		{"regen.dlq.node_added", wire.ReasonBadNATSSubject},
		{"", wire.ReasonBadNATSSubject},
		{"regen.changes.high.node_removed", wire.ReasonSubjectMismatch},
		{"regen.changes.low.edge_added", wire.ReasonSubjectMismatch},
	}
	for _, c := range cases {
		if got := reasonOf(t, wire.CheckSubject(c.subject, &node)); got != c.reason {
			t.Errorf("%q: reason %q, want %q", c.subject, got, c.reason)
		}
	}
}

// testMsg is a delivered message with a subject and headers.
type testMsg struct {
	data    string
	subject string
	header  nats.Header
}

func (m testMsg) Data() []byte          { return []byte(m.data) }
func (m testMsg) Subject() string       { return m.subject }
func (m testMsg) Headers() nats.Header  { return m.header }
func (testMsg) Seq() uint64             { return 1 }
func (testMsg) Deliveries() uint64      { return 1 }
func (testMsg) Ack(done func(error))    { done(nil) }
func (testMsg) Nak(time.Duration) error { return nil }
func (testMsg) Term(string) error       { return nil }
func (testMsg) InProgress() error       { return nil }

// withSubject is m delivered on subject.
func (m testMsg) withSubject(subject string) testMsg { m.subject = subject; return m }

// msgID is headers holding the Nats-Msg-Id id.
func msgID(id string) nats.Header { return nats.Header{nats.MsgIdHdr: []string{id}} }

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	const node = `{"id":"a","change_type":"node_added","subject":"urn:x"}`
	ok := testMsg{data: node, subject: "regen.changes.normal.node_added", header: msgID("hdr")}
	cases := []struct {
		name       string
		m          testMsg
		reason, id string
	}{
		{"valid", ok, "", "a"},
		{"no headers", testMsg{data: node, subject: ok.subject}, "", "a"},
		{"mismatch", ok.withSubject("regen.changes.normal.node_removed"), wire.ReasonSubjectMismatch, "a"},
		{"bad subject", ok.withSubject("regen.changes.bulk.node_added"), wire.ReasonBadNATSSubject, "a"},
		{"body first", testMsg{data: `{"id":"a","change_type":"nope","subject":"s"}`, subject: "x", header: msgID("hdr")},
			wire.ReasonUnknownChangeType, "a"},
		{"no id in the body", testMsg{data: `not json`, subject: ok.subject, header: msgID("hdr")}, wire.ReasonBadJSON, "hdr"},
		{"no id anywhere", testMsg{data: `{}`, subject: ok.subject}, wire.ReasonMissingID, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, err := wire.DecodeMessage(c.m, 0)
			if got := reasonOf(t, err); got != c.reason {
				t.Fatalf("reason = %q, want %q (err %v)", got, c.reason, err)
			}
			if ev.ID != c.id {
				t.Fatalf("ID = %q, want %q", ev.ID, c.id)
			}
		})
	}
}
