package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/regen-dev/regen/bus/wire"
)

// printer writes telemetry events for `regen watch`: the raw JSON, one
// event per line, or one readable line per event, coloured when Color is
// set. Not safe for concurrent use.
type printer struct {
	// W receives the lines.
	W io.Writer
	// Raw prints each payload as it is.
	Raw bool
	// Color adds ANSI colours to the readable lines.
	Color bool
}

// Print writes one event payload; a payload that is not a telemetry event
// is printed as it is.
func (p *printer) Print(data []byte) error {
	var ev wire.TelemetryRecord
	if p.Raw || json.Unmarshal(data, &ev) != nil {
		_, err := fmt.Fprintf(p.W, "%s\n", data)
		return err
	}
	_, err := io.WriteString(p.W, p.Line(ev)+"\n")
	return err
}

// ANSI colours of the readable format.
const (
	ansiReset   = "\x1b[0m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiBlue    = "\x1b[34m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
)

// Line renders ev as "15:04:05.000 type replica key=value ...", the data
// fields that matter most for its type first.
func (p *printer) Line(ev wire.TelemetryRecord) string {
	var b strings.Builder
	b.WriteString(p.paint(ansiDim, ev.Timestamp.Local().Format("15:04:05.000")))
	b.WriteByte(' ')
	b.WriteString(p.paint(typeColor(ev.Type), fmt.Sprintf("%-22s", ev.Type)))
	b.WriteByte(' ')
	b.WriteString(p.paint(ansiMagenta, ev.Replica))
	for _, k := range dataKeys(ev) {
		b.WriteByte(' ')
		b.WriteString(p.paint(ansiDim, k+"="))
		b.WriteString(formatValue(ev.Data[k]))
	}
	return b.String()
}

func (p *printer) paint(color, s string) string {
	if !p.Color || s == "" {
		return s
	}
	return color + s + ansiReset
}

func typeColor(t wire.TelemetryType) string {
	s := string(t)
	switch {
	case strings.HasSuffix(s, "_failed"), t == wire.EventRejected, t == wire.PerformanceAlert:
		return ansiRed
	case t == wire.PerformanceWarning, t == wire.BreakerStateChanged, t == wire.ScalingAdvice, t == wire.TuningChanged,
		t == wire.RateLimited:
		return ansiYellow
	case strings.HasSuffix(s, "_completed"):
		return ansiGreen
	case strings.HasSuffix(s, "_started"):
		return ansiCyan
	}
	return ansiBlue
}

// keyFirst lists, per type, the data fields shown first; the others follow
// in name order. hiddenKeys are never shown on the readable line.
var (
	keyFirst = map[wire.TelemetryType][]string{
		wire.RegenerationCompleted: {"final", "events", "succeeded", "failed", "duration_ms", "events_per_second"},
		wire.RegenerationFailed:    {"event_id", "change_type", "subject", "error"},
		wire.DeploymentCompleted:   {"path", "template", "node"},
		wire.DeploymentFailed:      {"path", "error"},
		wire.EventRejected:         {"event_id", "reason", "error"},
		wire.PerformanceWarning:    {"rule"},
		wire.PerformanceAlert:      {"rule", "severity"},
		wire.BreakerStateChanged:   {"component", "from", "to"},
		wire.ScalingAdvice:         {"scope", "recommended_replicas", "current_replicas_estimate", "predicted_drain_s", "pending", "reason"},
		wire.TuningChanged:         {"knob", "old", "new", "reason"},
		wire.RateLimited:           {"limit", "action", "delay_ms", "event_id"},
		wire.ConsumerPaused:        {"consumer", "pause_until"},
		wire.ConsumerResumed:       {"consumer"},
		wire.PerformanceMetric:     {"cycles", "events_per_second", "success_rate", "in_flight", "pending", "concurrency"},
	}
	hiddenKeys = map[string]bool{"execution_id": true, "counts": true, "hash": true}
)

func dataKeys(ev wire.TelemetryRecord) []string {
	first := keyFirst[ev.Type]
	out := make([]string, 0, len(ev.Data))
	for _, k := range first {
		if _, ok := ev.Data[k]; ok {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ev.Data)) {
		if !hiddenKeys[k] && !slices.Contains(first, k) {
			out = append(out, k)
		}
	}
	return out
}

// formatValue renders a decoded JSON value compactly: numbers without
// needless decimals, strings quoted only when they contain spaces.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " \t\n\"=") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
