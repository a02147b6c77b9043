package bus

import (
	"bytes"
	"encoding/json"
)

// probeLimit bounds the payload prefix probeEvent parses.
const probeLimit = 4 << 10

// eventProbe is what a listing shows of a dead letter's payload.
type eventProbe struct {
	ID, ChangeType, Subject string
}

// probeEvent reads id, change_type and subject from the JSON object at
// the start of data, parsing at most probeLimit bytes, so a listing never
// decodes a whole (perhaps oversize or truncated) payload. A field that
// is missing, not a string, or beyond the prefix stays empty.
func probeEvent(data []byte) eventProbe {
	var p eventProbe
	dec := json.NewDecoder(bytes.NewReader(data[:min(len(data), probeLimit)]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return p
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return p
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return p
		}
		var dst *string
		switch t {
		case "id":
			dst = &p.ID
		case "change_type":
			dst = &p.ChangeType
		case "subject":
			dst = &p.Subject
		default:
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			*dst = s
		}
	}
	return p
}
