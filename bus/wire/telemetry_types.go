package wire

import "time"

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
)

// TelemetryEvent is one telemetry record on telemetry.<type>.
type TelemetryEvent struct {
	ID        string            `json:"id"`
	Type      TelemetryType     `json:"type"`
	Timestamp time.Time         `json:"timestamp"`
	Component string            `json:"component"`
	Replica   string            `json:"replica"`
	Data      map[string]any    `json:"data"`
	Tags      map[string]string `json:"tags,omitempty"`
}
