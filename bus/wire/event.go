package wire

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/segmentio/encoding/json"
)

// ChangeType names what happened to the source model.
type ChangeType string

// The eight change types of the wire schema.
const (
	NodeAdded       ChangeType = "node_added"
	NodeRemoved     ChangeType = "node_removed"
	NodeUpdated     ChangeType = "node_updated"
	EdgeAdded       ChangeType = "edge_added"
	EdgeRemoved     ChangeType = "edge_removed"
	EdgeUpdated     ChangeType = "edge_updated"
	SchemaChanged   ChangeType = "schema_changed"
	TemplateChanged ChangeType = "template_changed"
)

// ChangeTypes lists every valid change type in wire order.
var ChangeTypes = []ChangeType{NodeAdded, NodeRemoved, NodeUpdated, EdgeAdded,
	EdgeRemoved, EdgeUpdated, SchemaChanged, TemplateChanged}

// Valid reports whether t is one of the eight change types.
func (t ChangeType) Valid() bool {
	for _, c := range ChangeTypes {
		if c == t {
			return true
		}
	}
	return false
}

// IsEdge reports whether t is about an edge (and so needs predicate and object).
func (t ChangeType) IsEdge() bool {
	return t == EdgeAdded || t == EdgeRemoved || t == EdgeUpdated
}

// Priority orders change events; it is the second token of the subject.
type Priority string

// The four priorities.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityNormal   Priority = "normal"
	PriorityLow      Priority = "low"
)

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool {
	switch p {
	case PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow:
		return true
	}
	return false
}

// ChangeEvent is one change to the source model, as published on
// regen.changes.<priority>.<change_type>. It is the public wire schema v1.
type ChangeEvent struct {
	ID         string            `json:"id"`
	ChangeType ChangeType        `json:"change_type"`
	Timestamp  time.Time         `json:"timestamp"`
	Subject    string            `json:"subject"`
	Predicate  *string           `json:"predicate"`
	Object     *string           `json:"object"`
	Properties Properties        `json:"properties,omitzero"`
	Source     string            `json:"source,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// Limits on event fields; beyond them an event is invalid.
const (
	// MaxPayloadDefault is the default largest accepted event payload (1 MiB).
	MaxPayloadDefault = 1 << 20
	maxIDLen          = 256
	maxSubjectLen     = 4096
)

// ErrInvalidEvent marks an event that no retry can fix: it is terminated and
// dead-lettered. Match it with errors.Is.
var ErrInvalidEvent = errors.New("invalid event")

// InvalidEventError says why an event was refused. Reason is a short stable
// token (bad_json, unknown_change_type, ...) for DLQ headers and metrics.
type InvalidEventError struct {
	Reason string
	Detail string
}

// Error says the reason and the detail.
func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("invalid event: %s: %s", e.Reason, e.Detail)
}

// Is makes errors.Is(err, ErrInvalidEvent) and errors.Is(err, ErrPermanent)
// true.
func (e *InvalidEventError) Is(target error) bool {
	return target == ErrInvalidEvent || target == ErrPermanent
}

func invalid(reason, format string, args ...any) error {
	return &InvalidEventError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// DecodeChangeEvent parses and validates one event payload. maxPayload <= 0
// means MaxPayloadDefault. Every error it returns matches ErrInvalidEvent.
// The event's strings and properties share data's memory (no copy is
// made): data must not change while the event is in use. A NATS
// message's payload is its own and never changes.
//
// It decodes with github.com/segmentio/encoding/json in zero-copy mode:
// no allocation per event, where encoding/json made 24 and goccy/go-json
// 5 (BenchmarkDecodeChangeEvent); decoding was a fifth of regen's CPU per
// event. FuzzDecodeMatchesEncodingJSON holds it to encoding/json's
// results.
func DecodeChangeEvent(data []byte, maxPayload int) (ChangeEvent, error) {
	if maxPayload <= 0 {
		maxPayload = MaxPayloadDefault
	}
	if len(data) > maxPayload {
		return ChangeEvent{}, invalid(ReasonOversize, "payload is %d bytes, limit %d", len(data), maxPayload)
	}
	// Decoding into a pooled event spares a heap event per call (the
	// decoder's argument escapes); it is zeroed before going back, so no
	// slice or map of a returned event is ever decoded into again.
	w := wirePool.Get().(*wireEvent)
	defer func() { *w = wireEvent{}; wirePool.Put(w) }()
	if err := unmarshalZeroCopy(data, w); err != nil {
		return ChangeEvent{}, invalid(ReasonBadJSON, "%v", err)
	}
	ev := w.ChangeEvent
	ev.Timestamp = time.Time(w.Timestamp)
	props, err := rawProperties(w.Properties)
	if err != nil {
		return ev, err
	}
	ev.Properties = props
	return ev, ev.Validate()
}

// wireEvent is a ChangeEvent as decoded, its properties as raw JSON: the
// decoder validates a json.RawMessage as it skips it and points it into
// the payload, where a Properties (an Unmarshaler of its own) would be
// handed a copy and scan it a second time in Properties.UnmarshalJSON.
type wireEvent struct {
	ChangeEvent
	Properties json.RawMessage `json:"properties"`
	Timestamp  wireTime        `json:"timestamp"`
}

// wireTime is a timestamp parsed by time.Time's own UnmarshalJSON, to the
// letter of encoding/json (the decoder's faster parser reads a few
// spellings differently).
type wireTime time.Time

// UnmarshalJSON is time.Time's.
func (t *wireTime) UnmarshalJSON(b []byte) error { return (*time.Time)(t).UnmarshalJSON(b) }

var wirePool = sync.Pool{New: func() any { return new(wireEvent) }}

// unmarshalZeroCopy is json.Unmarshal(data, w) whose strings and raw
// properties point into data instead of copies of it.
func unmarshalZeroCopy(data []byte, w *wireEvent) error {
	rest, err := json.Parse(data, w, json.ZeroCopy)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("invalid character %q after top-level value", rest[0])
	}
	return err
}

// rawProperties holds a decoded (so well-formed) properties value: an
// object, or null or absent for none; anything else is invalid, as
// Properties.UnmarshalJSON has it.
func rawProperties(raw json.RawMessage) (Properties, error) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return Properties{}, nil
	case raw[0] == '{':
		return Properties{raw: raw}, nil
	}
	return Properties{}, invalid(ReasonBadJSON, "%v", errNotObject(raw))
}

// Validate checks the fields every consumer relies on.
func (e *ChangeEvent) Validate() error {
	switch {
	case e.ID == "":
		return invalid(ReasonMissingID, "id is empty")
	case len(e.ID) > maxIDLen || !utf8.ValidString(e.ID) || strings.ContainsAny(e.ID, "\x00\r\n"):
		return invalid(ReasonBadID, "id must be printable and at most %d bytes", maxIDLen)
	case !e.ChangeType.Valid():
		return invalid(ReasonUnknownChangeType, "change_type %q is not one of %v", e.ChangeType, ChangeTypes)
	case e.Subject == "":
		return invalid(ReasonMissingSubject, "subject is empty")
	case len(e.Subject) > maxSubjectLen || !utf8.ValidString(e.Subject) || strings.ContainsRune(e.Subject, 0):
		return invalid(ReasonBadSubject, "subject must be valid UTF-8 without NUL, at most %d bytes", maxSubjectLen)
	}
	if e.ChangeType.IsEdge() && (e.Predicate == nil || *e.Predicate == "" || e.Object == nil || *e.Object == "") {
		return invalid(ReasonEdgeIncomplete, "%s needs predicate and object", e.ChangeType)
	}
	return nil
}

// NATSSubject returns the NATS subject this event is published on.
func (e *ChangeEvent) NATSSubject(p Priority) string {
	return ChangeSubject(p, e.ChangeType)
}

// Change is a validated event together with its place in the stream: what
// the engine needs to apply it last-writer-wins.
type Change struct {
	Event ChangeEvent
	// Seq is the JetStream stream sequence of the message: a total order
	// over all changes, used for last-writer-wins.
	Seq uint64
	// Deliveries counts how many times this message was delivered (1 first).
	Deliveries uint64
	// ExecutionID is the cycle this change is processed in (for logs).
	ExecutionID string
}
