package wire_test

import (
	"cmp"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// payloads holds one value of every payload struct.
var payloads = []wire.TelemetryPayload{
	wire.RegenerationStartedData{}, wire.RegenerationCompletedData{}, wire.RegenerationFinalData{},
	wire.RegenerationFailedData{}, wire.DeploymentStartedData{}, wire.DeploymentCompletedData{},
	wire.DeploymentFailedData{}, wire.EventRejectedData{}, wire.EventReapedData{}, wire.PerformanceMetricData{},
	wire.CycleOverTargetData{}, wire.IntervalOverTargetData{}, wire.LowSuccessRateData{}, wire.StalledData{},
	wire.MemoryPressureData{}, wire.DLQNearLimitData{}, wire.ScalingAdviceData{}, wire.TuningChangedData{}, wire.BreakerStateChangedData{},
	wire.RateLimitedData{},
	wire.ConsumerPausedData{}, wire.ConsumerResumedData{}, wire.CostReportData{},
}

// readmeValues are the backquoted tokens of a README row that are values
// of fields, not fields.
var readmeValues = map[wire.TelemetryType][]string{
	wire.RegenerationCompleted: {"true"},
	wire.EventRejected:         {"max_deliveries"},
	wire.PerformanceWarning:    {"cycle_over_target", "warning", "low_success_rate", "interval"},
	wire.PerformanceAlert: {"stalled", "error", "memory_pressure", "critical", "heap_over_limit",
		"near_cgroup_limit", "dlq_near_limit", "warning"},
	wire.ScalingAdvice: {"backlog_growing", "drain_exceeds_target", "cpu", "rate_limit", "target", "replica", "cluster",
		"forecast_exceeds_capacity", "sufficient", "holt", "holt_winters"},
	wire.CostReport:          {"decode", "model", "render", "validate", "deploy", "ack"},
	wire.TuningChanged:       {"concurrency"},
	wire.BreakerStateChanged: {"closed", "open", "half-open"},
	wire.RateLimited:         {"wait", "nak"},
}

func TestPayloadsListEveryPayloadStruct(t *testing.T) {
	t.Parallel()
	var listed []string
	for _, p := range payloads {
		listed = append(listed, reflect.TypeOf(p).Name())
	}
	slices.Sort(listed)
	if declared := testkit.PayloadTypes(t, "."); !slices.Equal(listed, declared) {
		t.Fatalf("payloads lists %v, the package declares %v", listed, declared)
	}
}

// TestREADMETelemetryTable holds the README's telemetry table to the
// payload structs: every JSON field (nested ones too) is listed in its
// type's row, and every backquoted token of the row is a field or one of
// the row's readmeValues.
func TestREADMETelemetryTable(t *testing.T) {
	t.Parallel()
	rows := readmeTelemetryRows(t)
	fields := payloadFields()
	if got, want := slices.Sorted(maps.Keys(rows)), slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		t.Fatalf("README rows %v, payload types %v", got, want)
	}
	for typ, tokens := range rows {
		checkRow(t, typ, tokens, fields[typ])
	}
}

func checkRow(t *testing.T, typ wire.TelemetryType, tokens []string, fields map[string]string) {
	t.Helper()
	values := readmeValues[typ]
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(tokens, f) {
			t.Errorf("README row %s lacks field `%s` (of %s)", typ, f, fields[f])
		}
	}
	for _, tok := range tokens {
		if _, ok := fields[tok]; !ok && !slices.Contains(values, tok) {
			t.Errorf("README row %s lists `%s`: no payload of the type has it (a value? add it to readmeValues)",
				typ, tok)
		}
	}
	for _, v := range values {
		if _, ok := fields[v]; ok {
			t.Errorf("readmeValues of %s: %q is a field, not a value", typ, v)
		} else if !slices.Contains(tokens, v) {
			t.Errorf("readmeValues of %s: the README row does not show %q", typ, v)
		}
	}
}

// payloadFields maps each telemetry type to the JSON names of its
// payloads' fields, nested structs of this package included (also behind
// pointers and in slices), each to the struct it is in.
func payloadFields() map[wire.TelemetryType]map[string]string {
	out := map[wire.TelemetryType]map[string]string{}
	for _, p := range payloads {
		typ := p.TelemetryType()
		if out[typ] == nil {
			out[typ] = map[string]string{}
		}
		collectFields(reflect.TypeOf(p), out[typ])
	}
	return out
}

func collectFields(rt reflect.Type, into map[string]string) {
	wirePkg := reflect.TypeFor[wire.TelemetryRecord]().PkgPath()
	for f := range rt.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		into[cmp.Or(name, f.Name)] = rt.Name()
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == wirePkg {
			collectFields(ft, into)
		}
	}
}

var backquoted = regexp.MustCompile("`([^`]+)`")

// readmeTelemetryRows parses the `| type | when | data fields |` table
// under "## Telemetry (wire schema v1)": each type to the backquoted
// tokens of its third column.
func readmeTelemetryRows(t *testing.T) map[wire.TelemetryType][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Telemetry (wire schema v1)\n")
	if !ok {
		t.Fatal("README has no telemetry section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[wire.TelemetryType][]string{}
	inTable := false
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| type | when |"):
			inTable = true
		case inTable && strings.HasPrefix(line, "|---"):
		case inTable && strings.HasPrefix(line, "|"):
			typ, tokens := parseRow(t, line)
			if _, dup := rows[typ]; dup {
				t.Fatalf("README lists %s twice", typ)
			}
			rows[typ] = tokens
		case inTable:
			inTable = false
		}
	}
	if len(rows) == 0 {
		t.Fatal("README telemetry table not found")
	}
	return rows
}

func parseRow(t *testing.T, line string) (wire.TelemetryType, []string) {
	t.Helper()
	cells := strings.Split(strings.Trim(line, "|"), "|")
	if len(cells) != 3 {
		t.Fatalf("README telemetry row with %d cells: %s", len(cells), line)
	}
	typ := wire.TelemetryType(strings.Trim(strings.TrimSpace(cells[0]), "`"))
	var tokens []string
	for _, m := range backquoted.FindAllStringSubmatch(cells[2], -1) {
		if !slices.Contains(tokens, m[1]) {
			tokens = append(tokens, m[1])
		}
	}
	return typ, tokens
}

func TestEncodeTelemetryRefusesAMismatchedType(t *testing.T) {
	t.Parallel()
	_, err := wire.EncodeTelemetry(wire.TelemetryEvent{Type: wire.DeploymentFailed, Data: wire.DeploymentStartedData{}})
	if err == nil || !strings.Contains(err.Error(), "deployment_started") {
		t.Fatalf("err = %v, want a type mismatch", err)
	}
}

func TestEncodeTelemetryWithoutData(t *testing.T) {
	t.Parallel()
	b, err := wire.EncodeTelemetry(wire.TelemetryEvent{Type: wire.PerformanceMetric})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"data":null`) {
		t.Fatalf("encoded %s", b)
	}
}

// A published event reads back generically (TelemetryRecord) and typed
// (TelemetryEnvelope of its payload struct).
func TestTelemetryReadsBack(t *testing.T) {
	t.Parallel()
	pending := uint64(0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sent := wire.PerformanceMetricData{Cycles: 3, Pending: &pending, Breakers: map[string]string{"engine": "open"}}
	b, err := wire.EncodeTelemetry(wire.TelemetryEvent{ID: "1", Type: wire.PerformanceMetric, Timestamp: at,
		Component: "orchestrator", Replica: "r1", Data: sent})
	if err != nil {
		t.Fatal(err)
	}
	var rec wire.TelemetryRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if _, hasRate := rec.Data["success_rate"]; rec.Data["cycles"] != 3.0 || rec.Data["pending"] != 0.0 || hasRate {
		t.Fatalf("record data = %v", rec.Data)
	}
	var typed wire.TelemetryEnvelope[wire.PerformanceMetricData]
	if err := json.Unmarshal(b, &typed); err != nil {
		t.Fatal(err)
	}
	if typed.Data.Cycles != 3 || *typed.Data.Pending != 0 || typed.Data.Breakers["engine"] != "open" ||
		!typed.Timestamp.Equal(at) || typed.Replica != "r1" {
		t.Fatalf("typed = %+v", typed)
	}
}
