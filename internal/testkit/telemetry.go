package testkit

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// LegacyTelemetry is the telemetry envelope as it was when payloads were
// map literals: the reference of the golden wire tests.
type LegacyTelemetry struct {
	ID        string             `json:"id"`
	Type      wire.TelemetryType `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Component string             `json:"component"`
	Replica   string             `json:"replica"`
	Data      map[string]any     `json:"data"`
	Tags      map[string]string  `json:"tags,omitempty"`
}

// RequireSameWire encodes one envelope with the legacy map payload and
// one with the typed payload, the second as bus.Telemetry does, and fails
// t unless the bytes are identical.
func RequireSameWire(t testing.TB, typ wire.TelemetryType, component string, legacy map[string]any,
	typed wire.TelemetryPayload) {
	t.Helper()
	at := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)
	tags := map[string]string{"z": "1", "a": "<2>"}
	old, err := json.Marshal(LegacyTelemetry{ID: "id-1", Type: typ, Timestamp: at, Component: component,
		Replica: "r1", Data: legacy, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	got, err := wire.EncodeTelemetry(wire.TelemetryEvent{ID: "id-1", Type: typed.TelemetryType(), Timestamp: at,
		Component: component, Replica: "r1", Data: typed, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, got) {
		t.Fatalf("wire changed\nold %s\nnew %s", old, got)
	}
}

// PayloadTypes lists, sorted, the types declared in the non-test Go files
// of dir that have a TelemetryType method: every telemetry payload of
// package wire, read from its source.
func PayloadTypes(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, payloadMethods(f)...)
	}
	slices.Sort(out)
	return out
}

func payloadMethods(f *ast.File) []string {
	var out []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && fn.Name.Name == "TelemetryType" {
			if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
				out = append(out, id.Name)
			}
		}
	}
	return out
}
