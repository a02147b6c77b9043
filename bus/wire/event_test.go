package wire_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/regen-dev/regen/bus/wire"
)

func TestDecodeChangeEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, reason string
	}{
		{"valid node", `{"id":"a","change_type":"node_added","subject":"urn:x"}`, ""},
		{"valid edge", `{"id":"a","change_type":"edge_added","subject":"urn:x","predicate":"p","object":"o"}`, ""},
		{"bad json", `{"id":`, wire.ReasonBadJSON},
		{"wrong type", `{"id":7,"change_type":"node_added","subject":"urn:x"}`, wire.ReasonBadJSON},
		{"unknown type", `{"id":"a","change_type":"node_exploded","subject":"urn:x"}`, wire.ReasonUnknownChangeType},
		{"missing id", `{"change_type":"node_added","subject":"urn:x"}`, wire.ReasonMissingID},
		{"missing subject", `{"id":"a","change_type":"node_added"}`, wire.ReasonMissingSubject},
		{"edge without object", `{"id":"a","change_type":"edge_removed","subject":"urn:x","predicate":"p"}`, wire.ReasonEdgeIncomplete},
		{"nul in subject", `{"id":"a","change_type":"node_added","subject":"urn:\u0000x"}`, wire.ReasonBadSubject},
		{"newline in id", `{"id":"a\nb","change_type":"node_added","subject":"urn:x"}`, wire.ReasonBadID},
		{"oversize", `{"id":"a","change_type":"node_added","subject":"urn:x","source":"` + strings.Repeat("x", 2000) + `"}`, wire.ReasonOversize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.DecodeChangeEvent([]byte(c.in), 1024)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("valid event refused: %v", err)
				}
				return
			}
			var inv *wire.InvalidEventError
			if !errors.As(err, &inv) || inv.Reason != c.reason || !errors.Is(err, wire.ErrInvalidEvent) {
				t.Fatalf("err = %v, want reason %s", err, c.reason)
			}
		})
	}
}

func FuzzDecodeChangeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"a","change_type":"node_added","subject":"urn:x","properties":{"k":[1,2]}}`))
	f.Add([]byte(`{"id":"a","change_type":"edge_added","subject":"s","predicate":"p","object":"o"}`))
	f.Add([]byte(`{"id":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"urn:\xc3x\"}"))
	f.Add([]byte(`{"id":"a","change_type":"node_added","subject":"urn:x","metadata":{"\udbff":"\ud83d\ude00"}}`))
	f.Add([]byte("{\"id\":\"a\",\"change_type\":\"node_added\",\"subject\":\"s\",\"properties\":{\"\xe2\x82\":[\"\\\\udc00\"]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := wire.DecodeChangeEvent(data, 4096)
		if err != nil {
			var inv *wire.InvalidEventError
			if !errors.As(err, &inv) || inv.Reason == "" || !errors.Is(err, wire.ErrInvalidEvent) {
				t.Fatalf("error is not an InvalidEventError with a reason: %v", err)
			}
			if len(ev.ID) > 256 || !utf8.Valid(data) && inv.Reason != wire.ReasonOversize &&
				inv.Reason != wire.ReasonBadJSON && inv.Reason != wire.ReasonBadUTF8 {
				t.Fatalf("refused with %s, ID %d bytes: %q", inv.Reason, len(ev.ID), data)
			}
			return
		}
		if ev.ID == "" || ev.Subject == "" || !ev.ChangeType.Valid() {
			t.Fatalf("accepted an invalid event: %+v", ev)
		}
		if ev.ChangeType.IsEdge() && (ev.Predicate == nil || ev.Object == nil) {
			t.Fatalf("accepted an edge without predicate/object: %+v", ev)
		}
		checkAcceptedText(t, data, ev)
	})
}

// checkAcceptedText checks that an accepted event came from UTF-8 text
// and that none of its strings holds a U+FFFD its payload did not spell.
func checkAcceptedText(t *testing.T, data []byte, ev wire.ChangeEvent) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatalf("accepted a payload that is not UTF-8: %q", data)
	}
	if bytes.ContainsRune(data, utf8.RuneError) || bytes.Contains(bytes.ToLower(data), []byte(`ufffd`)) {
		return // U+FFFD spelled somewhere
	}
	strs := []string{ev.ID, ev.Subject, ev.Source, deref(ev.Predicate), deref(ev.Object)}
	for k, v := range ev.Metadata {
		strs = append(strs, k, v)
	}
	props, err := ev.Properties.Map()
	if err != nil {
		return
	}
	for k := range props {
		strs = append(strs, k)
	}
	for _, s := range strs {
		if strings.ContainsRune(s, utf8.RuneError) {
			t.Fatalf("accepted a string with a replaced character %q: %q", s, data)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	if got := wire.ChangeSubject(wire.PriorityHigh, wire.EdgeAdded); got != "regen.changes.high.edge_added" {
		t.Fatal(got)
	}
	if got := wire.DLQSubject("bogus"); got != "regen.dlq.invalid" {
		t.Fatal(got)
	}
	if got := wire.TelemetrySubjectFor(wire.ScalingAdvice); got != "telemetry.scaling_advice" {
		t.Fatal(got)
	}
}
