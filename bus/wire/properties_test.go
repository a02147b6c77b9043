package wire_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

func TestPropertiesRoundTripAndOmission(t *testing.T) {
	t.Parallel()
	ev := wire.ChangeEvent{ID: "a", ChangeType: wire.NodeAdded, Subject: "urn:x",
		Properties: wire.MustProperties(map[string]any{"rdfs:label": "X", "n": 2})}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.DecodeChangeEvent(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := got.Properties.Map()
	if err != nil || m["rdfs:label"] != "X" || m["n"] != float64(2) {
		t.Fatalf("Map = %v, %v", m, err)
	}
	ev.Properties = wire.Properties{}
	if data, _ := json.Marshal(ev); strings.Contains(string(data), "properties") {
		t.Fatalf("no properties must be omitted: %s", data)
	}
	if m, err := ev.Properties.Map(); m != nil || err != nil {
		t.Fatalf("zero Properties: Map = %v, %v", m, err)
	}
}

// A payload whose properties are not an object is refused at decode; an
// object whose values cannot be decoded is refused when decoded, and the
// error marks the event invalid (it is dead-lettered, not retried).
func TestBadPropertiesAreInvalid(t *testing.T) {
	t.Parallel()
	for _, props := range []string{`[1]`, `"x"`, `{"a":}`} {
		_, err := wire.DecodeChangeEvent([]byte(`{"id":"a","change_type":"node_added","subject":"s","properties":`+props+`}`), 0)
		var inv *wire.InvalidEventError
		if !errors.As(err, &inv) || inv.Reason != wire.ReasonBadJSON {
			t.Errorf("properties %s: err = %v, want bad_json", props, err)
		}
	}
	none, err := wire.DecodeChangeEvent([]byte(`{"id":"a","change_type":"node_added","subject":"s","properties":null}`), 0)
	if err != nil || !none.Properties.IsZero() {
		t.Fatalf("properties null: %v, zero %v; want none", err, none.Properties.IsZero())
	}
	ev, err := wire.DecodeChangeEvent([]byte(`{"id":"a","change_type":"node_added","subject":"s","properties":{"n":1e400}}`), 0)
	if err != nil {
		t.Fatalf("well-formed object refused at decode: %v", err)
	}
	_, err = ev.Properties.Map()
	var inv *wire.InvalidEventError
	if !errors.As(err, &inv) || inv.Reason != wire.ReasonBadProperties || !errors.Is(err, wire.ErrInvalidEvent) {
		t.Fatalf("Map of an overflowing number: %v, want bad_properties", err)
	}
}
