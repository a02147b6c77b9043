package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

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
