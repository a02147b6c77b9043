package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/segmentio/encoding/json"
)

// ChangeType names what happened to the source model.
type ChangeType string

// The change types of the wire schema: eight that publishers send about
// the model and its templates, and ArtifactStale, which regen publishes
// to itself to fan a change's derived re-renders out across replicas.
const (
	NodeAdded       ChangeType = "node_added"
	NodeRemoved     ChangeType = "node_removed"
	NodeUpdated     ChangeType = "node_updated"
	EdgeAdded       ChangeType = "edge_added"
	EdgeRemoved     ChangeType = "edge_removed"
	EdgeUpdated     ChangeType = "edge_updated"
	SchemaChanged   ChangeType = "schema_changed"
	TemplateChanged ChangeType = "template_changed"
	// ArtifactStale asks for one artifact to be rendered again from the
	// current model: Subject is the node (or, for a model-scoped template,
	// the template's name) and Metadata[MetaTemplate] the template.
	ArtifactStale ChangeType = "artifact_stale"
)

// MetaTemplate is the Metadata key of an artifact_stale event that names
// the template to render.
const MetaTemplate = "template"

// ChangeTypes lists every valid change type in wire order.
var ChangeTypes = []ChangeType{NodeAdded, NodeRemoved, NodeUpdated, EdgeAdded,
	EdgeRemoved, EdgeUpdated, SchemaChanged, TemplateChanged, ArtifactStale}

// Valid reports whether t is one of ChangeTypes.
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

// Priorities are the four priorities, highest first.
var Priorities = []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow}

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
// means MaxPayloadDefault. Every error it returns matches ErrInvalidEvent,
// and comes with the event as far as it parsed (at least its ID whenever
// the payload had a string id before the fault; an ID too long to be
// valid cut to maxIDLen bytes), for the log and telemetry of the
// rejection. The event's strings and properties share data's memory (no
// copy is made): data must not change while the event is in use. A NATS
// message's payload is its own and never changes.
//
// The payload must be UTF-8 (RFC 8259 §8.1) and no string may escape a
// lone UTF-16 surrogate: decoders replace either with U+FFFD, so two
// different ids or subjects would become one; such a payload is refused
// with ReasonBadUTF8.
//
// It decodes with github.com/segmentio/encoding/json in zero-copy mode:
// no allocation per event, where encoding/json made 24 and goccy/go-json
// 5 (BenchmarkDecodeChangeEvent); decoding was a fifth of regen's CPU per
// event. FuzzDecodeMatchesEncodingJSON holds it to encoding/json's
// results.
func DecodeChangeEvent(data []byte, maxPayload int) (ChangeEvent, error) {
	ev, err := decodeChangeEvent(data, maxPayload)
	if err != nil {
		ev.ID = clipID(ev.ID)
	}
	return ev, err
}

// decodeChangeEvent is DecodeChangeEvent but for cutting the ID.
func decodeChangeEvent(data []byte, maxPayload int) (ChangeEvent, error) {
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
	err := unmarshalZeroCopy(data, w)
	ev := w.ChangeEvent
	ev.Timestamp = time.Time(w.Timestamp)
	if err != nil {
		return ev, invalid(ReasonBadJSON, "%v", err)
	}
	if err := checkText(data); err != nil {
		return ev, err
	}
	props, err := rawProperties(w.Properties)
	if err != nil {
		return ev, err
	}
	ev.Properties = props
	return ev, ev.Validate()
}

// checkText refuses a well-formed payload whose strings do not decode to
// what it spells: bytes that are not UTF-8, and \u escapes of a lone
// UTF-16 surrogate, both of which the decoder replaced with U+FFFD. The
// whole payload is checked, not only the fields regen reads: JSON text
// must be UTF-8, and a scan of it all is the cheapest check.
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		return invalid(ReasonBadUTF8, "payload is not valid UTF-8 (byte %d)", invalidUTF8At(data))
	}
	if i := loneSurrogate(data); i >= 0 {
		return invalid(ReasonBadUTF8, "escape of a lone UTF-16 surrogate at byte %d", i)
	}
	return nil
}

// invalidUTF8At is the offset of the first byte of data that does not
// start a valid UTF-8 sequence, or -1.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogate is the offset of the first \u escape of a UTF-16
// surrogate that is not a high surrogate followed by a low one, or -1.
// data is well-formed JSON, so every backslash starts an escape inside a
// string, and escapes are read from left to right.
func loneSurrogate(data []byte) int {
	for i := 0; ; i += 2 {
		j := bytes.IndexByte(data[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j
		if i+1 >= len(data) {
			return -1
		}
		r := rune(-1)
		if data[i+1] == 'u' {
			r = hex4(data[i+2:])
		}
		switch {
		case r < 0:
			// a one-character escape (\\, \", \n...)
		case r < 0xD800 || r > 0xDFFF:
			i += 4
		case r >= 0xDC00:
			return i // a low surrogate first
		case lowSurrogateEscape(data[i+6:]):
			i += 10 // a pair
		default:
			return i // a high surrogate alone
		}
	}
}

// lowSurrogateEscape reports whether data starts with the \u escape of a
// low surrogate.
func lowSurrogateEscape(data []byte) bool {
	if len(data) < 6 || data[0] != '\\' || data[1] != 'u' {
		return false
	}
	r := hex4(data[2:])
	return 0xDC00 <= r && r <= 0xDFFF
}

// hex4 is the value of the four hex digits data starts with, or -1.
func hex4(data []byte) rune {
	if len(data) < 4 {
		return -1
	}
	var r rune
	for _, c := range data[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// clipID cuts id to maxIDLen bytes at a rune boundary: an invalid event's
// ID is logged, and may be as long as its payload.
func clipID(id string) string {
	if len(id) <= maxIDLen {
		return id
	}
	n := maxIDLen
	for n > 0 && !utf8.RuneStart(id[n]) {
		n--
	}
	return id[:n]
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

// changeSubjectPrefix starts every change subject (ChangeSubject).
const changeSubjectPrefix = "regen.changes."

// CheckSubject checks the NATS subject ev was delivered on against ev: it
// must be regen.changes.<priority>.<change_type>, with one of the four
// priorities and the eight change types (ReasonBadNATSSubject), and its
// change type must be ev's (ReasonSubjectMismatch). The subject routes an
// event (the priority's consumer, the dead-letter subject), so either
// fault is a publisher's bug, which no retry fixes. An error is an
// *InvalidEventError.
func CheckSubject(natsSubject string, ev *ChangeEvent) error {
	rest, ok := strings.CutPrefix(natsSubject, changeSubjectPrefix)
	prio, typ, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !Priority(prio).Valid() || !ChangeType(typ).Valid() {
		return invalid(ReasonBadNATSSubject, "NATS subject %q is not %s<priority>.<change_type>",
			natsSubject, changeSubjectPrefix)
	}
	if ChangeType(typ) != ev.ChangeType {
		return invalid(ReasonSubjectMismatch, "NATS subject %q is for %s, the event is %s",
			natsSubject, typ, ev.ChangeType)
	}
	return nil
}

// DecodeMessage decodes and validates a delivered change event: its
// payload with DecodeChangeEvent, then its subject with CheckSubject.
// On error the event holds what parsed and, when the payload gave no ID,
// the Nats-Msg-Id header (which publishers set to the event id) as ID, so
// that the rejection names the event whenever it can.
func DecodeMessage(m Message, maxPayload int) (ChangeEvent, error) {
	ev, err := DecodeChangeEvent(m.Data(), maxPayload)
	if err == nil {
		err = CheckSubject(m.Subject(), &ev)
	}
	if err != nil && ev.ID == "" {
		ev.ID = clipID(m.Headers().Get(nats.MsgIdHdr))
	}
	return ev, err
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
