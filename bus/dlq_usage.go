package bus

import (
	"context"
	"fmt"

	"github.com/regen-dev/regen/bus/wire"
)

// RuleDLQNearLimit is the rule of the performance_alert a replica
// publishes while REGEN_DLQ is near one of its limits.
const RuleDLQNearLimit = "dlq_near_limit"

// DLQUsage is how full REGEN_DLQ is. A limit of 0 or less is none.
type DLQUsage struct {
	Msgs     uint64
	Bytes    uint64
	MaxMsgs  int64
	MaxBytes int64
}

// Ratio is the larger of Msgs/MaxMsgs and Bytes/MaxBytes (0 without limits).
func (u DLQUsage) Ratio() float64 {
	r := 0.0
	if u.MaxMsgs > 0 {
		r = float64(u.Msgs) / float64(u.MaxMsgs)
	}
	if u.MaxBytes > 0 {
		r = max(r, float64(u.Bytes)/float64(u.MaxBytes))
	}
	return r
}

// Usage reads REGEN_DLQ's state and limits from the server.
func (d *DeadLetters) Usage(ctx context.Context) (DLQUsage, error) {
	st, err := d.js.Stream(ctx, wire.DLQStream)
	if err != nil {
		return DLQUsage{}, fmt.Errorf("dlq usage: %w", err)
	}
	info := st.CachedInfo()
	return DLQUsage{Msgs: info.State.Msgs, Bytes: info.State.Bytes,
		MaxMsgs: info.Config.MaxMsgs, MaxBytes: info.Config.MaxBytes}, nil
}

// DLQNearLimitEvent is the performance_alert (rule dlq_near_limit,
// severity warning) for u at or over alertRatio of a limit. Its data:
// rule, severity, stream, msgs, bytes, max_msgs, max_bytes (0: none),
// ratio, alert_ratio.
func DLQNearLimitEvent(u DLQUsage, alertRatio float64) wire.TelemetryEvent {
	return wire.TelemetryEvent{Type: wire.PerformanceAlert, Component: "reaper", Data: wire.DLQNearLimitData{
		Rule: RuleDLQNearLimit, Severity: "warning", Stream: wire.DLQStream,
		Msgs: u.Msgs, Bytes: u.Bytes, MaxMsgs: max(u.MaxMsgs, 0), MaxBytes: max(u.MaxBytes, 0),
		Ratio: u.Ratio(), AlertRatio: alertRatio,
	}}
}
