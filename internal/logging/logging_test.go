package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAutoIsJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "info", "auto").Info("hello", "event_id", "e1", "execution_id", "x1")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["event_id"] != "e1" || line["msg"] != "hello" {
		t.Fatalf("line = %q (%v)", buf.String(), err)
	}
}

func TestLevelAndTextFormat(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "warn", "text")
	log.Info("dropped")
	log.Warn("kept", "k", "v")
	out := buf.String()
	if strings.Contains(out, "dropped") || !strings.Contains(out, "kept") || !strings.Contains(out, "k=v") {
		t.Fatalf("output = %q", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Fatal("colour codes written to a non-terminal")
	}
}

func TestDurationsReadTheSameInJSONAndText(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		New(&buf, "info", format).Info("waiting", slog.Duration("retry_in", 1500*time.Millisecond),
			slog.Group("window", slog.Duration("span", 250*time.Millisecond)), "plain", 42)
		out := buf.String()
		for _, want := range []string{"1.5s", "250ms"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q lacks %s", format, out, want)
			}
		}
		if strings.Contains(out, "1500000000") {
			t.Errorf("%s: a duration written as nanoseconds: %q", format, out)
		}
		if format != "json" {
			continue
		}
		var line struct {
			RetryIn string         `json:"retry_in"`
			Window  map[string]any `json:"window"`
			Plain   int            `json:"plain"`
		}
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.RetryIn != "1.5s" ||
			line.Window["span"] != "250ms" || line.Plain != 42 {
			t.Fatalf("line = %q (%v)", out, err)
		}
	}
}
