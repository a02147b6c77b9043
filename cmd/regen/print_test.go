package main

import (
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

func TestPrinterLinesAndRawJSON(t *testing.T) {
	t.Parallel()
	ev := wire.TelemetryRecord{Type: wire.RegenerationFailed, Replica: "r1",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 600e6, time.Local),
		Data: map[string]any{"execution_id": "x", "error": "boom bang", "event_id": "e1", "deliveries": 2.0,
			"rate": 0.123456, "nested": map[string]any{"a": 1.0}}}
	p := &printer{}
	want := `03:04:05.600 regeneration_failed    r1 event_id=e1 error="boom bang" deliveries=2 nested={"a":1} rate=0.123`
	if got := p.Line(ev); got != want {
		t.Fatalf("Line =\n%s\nwant\n%s", got, want)
	}
	colored := (&printer{Color: true}).Line(ev)
	if colored == want || len(colored) <= len(want) {
		t.Fatalf("Color added nothing: %q", colored)
	}
}
