package testkit

import (
	"context"
	"testing"

	"github.com/regen-dev/regen/internal/tracing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// InstallTracer makes the default tracer export to an in-memory exporter
// for the test, restoring the previous one at its end. The tracer is
// global: a test calling it must not be parallel.
func InstallTracer(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := tracing.SetDefault(tracing.New(tp))
	t.Cleanup(func() {
		tracing.SetDefault(prev)
		_ = tp.Shutdown(context.Background())
	})
	return exp
}
