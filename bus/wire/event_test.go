package wire_test

import (
	"errors"
	"strings"
	"testing"

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
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := wire.DecodeChangeEvent(data, 4096)
		if err != nil {
			if !errors.Is(err, wire.ErrInvalidEvent) {
				t.Fatalf("error does not match ErrInvalidEvent: %v", err)
			}
			return
		}
		if ev.ID == "" || ev.Subject == "" || !ev.ChangeType.Valid() {
			t.Fatalf("accepted an invalid event: %+v", ev)
		}
		if ev.ChangeType.IsEdge() && (ev.Predicate == nil || ev.Object == nil) {
			t.Fatalf("accepted an edge without predicate/object: %+v", ev)
		}
	})
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
