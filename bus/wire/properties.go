package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	segjson "github.com/segmentio/encoding/json"
)

// Properties are an event's literal values keyed by property name: a JSON
// object. A decoded event keeps the object as it arrived and decodes it
// only when asked (Map): building the map was most of an event's decoding
// cost and allocations, which an engine that does not read properties
// need not pay. The zero value holds none. Properties are immutable and
// safe to share.
type Properties struct {
	raw []byte // a JSON object, or nil for none
}

// PropertiesOf returns properties holding m (nil or empty: none). It fails
// only for values JSON cannot encode.
func PropertiesOf(m map[string]any) (Properties, error) {
	if len(m) == 0 {
		return Properties{}, nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Properties{}, fmt.Errorf("properties: %w", err)
	}
	return Properties{raw: raw}, nil
}

// MustProperties is PropertiesOf for literals in code and tests: it panics
// on a value JSON cannot encode.
func MustProperties(m map[string]any) Properties {
	p, err := PropertiesOf(m)
	if err != nil {
		panic(err)
	}
	return p
}

// Map decodes the properties: nil when there are none. An object that
// does not decode is an invalid event (errors.Is ErrInvalidEvent).
func (p Properties) Map() (map[string]any, error) {
	if len(p.raw) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := segjson.Unmarshal(p.raw, &m); err != nil {
		return nil, invalid(ReasonBadProperties, "%v", err)
	}
	return m, nil
}

// IsZero reports whether there are no properties (an empty object counts
// as none); the wire schema omits them then.
func (p Properties) IsZero() bool {
	return len(p.raw) == 0 || bytes.Equal(bytes.TrimSpace(p.raw), []byte("{}"))
}

// MarshalJSON writes the object as it is held.
func (p Properties) MarshalJSON() ([]byte, error) {
	if len(p.raw) == 0 {
		return []byte("null"), nil
	}
	return p.raw, nil
}

// UnmarshalJSON keeps a copy of the object; null means none. Anything but
// a well-formed object is refused (its values are decoded, and may still
// be refused, by Map).
func (p *Properties) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		p.raw = nil
	case len(data) > 0 && data[0] == '{' && segjson.Valid(data):
		// An exact-size copy: bytes.Clone (append) rounds the capacity up.
		p.raw = make([]byte, len(data))
		copy(p.raw, data)
	default:
		return errNotObject(data)
	}
	return nil
}

// errNotObject says why properties were refused (Properties.UnmarshalJSON
// and DecodeChangeEvent).
func errNotObject(data []byte) error {
	return fmt.Errorf("properties must be a JSON object, not %.20s", data)
}
