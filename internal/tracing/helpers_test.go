package tracing_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen/internal/tracing"
)

// testBundle is a Tracer on an SDK provider that records every span,
// synchronously, in an in-memory exporter.
type testBundle struct {
	tracer *tracing.Tracer
	spans  *tracetest.InMemoryExporter
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &testBundle{tracer: tracing.New(tp), spans: exp}
}

// byName returns the ended spans by name, failing on a name seen twice.
func (b *testBundle) byName(t *testing.T) map[string]tracetest.SpanStub {
	t.Helper()
	out := map[string]tracetest.SpanStub{}
	for _, s := range b.spans.GetSpans() {
		if _, dup := out[s.Name]; dup {
			t.Fatalf("span %q ended twice", s.Name)
		}
		out[s.Name] = s
	}
	return out
}

// mustSpan returns the span name of spans.
func mustSpan(t *testing.T, spans map[string]tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	s, ok := spans[name]
	if !ok {
		t.Fatalf("no span %q in %v", name, keys(spans))
	}
	return s
}

func keys(m map[string]tracetest.SpanStub) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// mustAttr fails unless s has the attribute key with the value want
// (compared as its String form).
func mustAttr(t *testing.T, s tracetest.SpanStub, key, want string) {
	t.Helper()
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			if got := kv.Value.String(); got != want {
				t.Fatalf("span %q: %s = %q, want %q", s.Name, key, got, want)
			}
			return
		}
	}
	t.Fatalf("span %q: no attribute %s in %v", s.Name, key, s.Attributes)
}

// mustChild fails unless child's parent is parent, in parent's trace.
func mustChild(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Fatalf("span %q in trace %s, want %q's trace %s", child.Name, child.SpanContext.TraceID(), parent.Name, parent.SpanContext.TraceID())
	}
	if child.Parent.SpanID() != parent.SpanContext.SpanID() {
		t.Fatalf("span %q: parent %s, want %q (%s)", child.Name, child.Parent.SpanID(), parent.Name, parent.SpanContext.SpanID())
	}
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// mustKind fails unless s is of kind.
func mustKind(t *testing.T, s tracetest.SpanStub, kind trace.SpanKind) {
	t.Helper()
	mustEqual(t, s.Name+" kind", s.SpanKind, kind)
}
