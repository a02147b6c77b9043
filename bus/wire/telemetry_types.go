package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// TelemetryType is the kind of a telemetry event; the subject's last token.
type TelemetryType string

// The telemetry types of the wire schema.
const (
	RegenerationStarted   TelemetryType = "regeneration_started"
	RegenerationCompleted TelemetryType = "regeneration_completed"
	RegenerationFailed    TelemetryType = "regeneration_failed"
	DeploymentStarted     TelemetryType = "deployment_started"
	DeploymentCompleted   TelemetryType = "deployment_completed"
	DeploymentFailed      TelemetryType = "deployment_failed"
	PerformanceMetric     TelemetryType = "performance_metric"
	PerformanceWarning    TelemetryType = "performance_warning"
	PerformanceAlert      TelemetryType = "performance_alert"
	BreakerStateChanged   TelemetryType = "breaker_state_changed"
	EventRejected         TelemetryType = "event_rejected"
	ScalingAdvice         TelemetryType = "scaling_advice"
	TuningChanged         TelemetryType = "tuning_changed"
	RateLimited           TelemetryType = "rate_limited"
	ConsumerPaused        TelemetryType = "consumer_paused"
	ConsumerResumed       TelemetryType = "consumer_resumed"
)

// TelemetryEnvelope is one telemetry record on telemetry.<type>, its data
// carried as D: a TelemetryEvent when publishing, a TelemetryRecord when
// reading back, or one payload struct to decode a known type:
//
//	var ev wire.TelemetryEnvelope[wire.DeploymentCompletedData]
//	err := json.Unmarshal(msg.Data(), &ev)
type TelemetryEnvelope[D any] struct {
	ID        string        `json:"id"`
	Type      TelemetryType `json:"type"`
	Timestamp time.Time     `json:"timestamp"`
	Component string        `json:"component"`
	Replica   string        `json:"replica"`
	// TraceID is the W3C trace id (hex) of the event's trace, on the
	// telemetry of a traced event only.
	TraceID string            `json:"trace_id,omitempty"`
	Data    D                 `json:"data"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// TelemetryEvent is a telemetry record as published: Data is one of the
// payload structs (nil encodes as null). It cannot be decoded into: read
// events back as a TelemetryRecord.
type TelemetryEvent = TelemetryEnvelope[TelemetryPayload]

// TelemetryRecord is a telemetry record as read back, its data decoded
// generically (JSON numbers as float64).
type TelemetryRecord = TelemetryEnvelope[map[string]any]

// TelemetryPayload is the data of a telemetry event: one of the
// ...Data structs of this package, each naming the type it is published
// as.
type TelemetryPayload interface {
	TelemetryType() TelemetryType
}

// EncodeTelemetry returns the wire form of ev (encoding/json), refusing an
// event whose Type is not the type of its Data.
func EncodeTelemetry(ev TelemetryEvent) ([]byte, error) {
	if ev.Data != nil && ev.Type != ev.Data.TelemetryType() {
		return nil, fmt.Errorf("telemetry %s: data is %s", ev.Type, ev.Data.TelemetryType())
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("telemetry %s: %w", ev.Type, err)
	}
	return b, nil
}
