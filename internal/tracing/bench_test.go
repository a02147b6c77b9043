package tracing_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/regen-dev/regen/internal/tracing"
)

// delivery is the tracing of one delivery: its span, the stages, a
// deploy to one target, the trace id for telemetry.
func delivery(tr *tracing.Tracer, hdr nats.Header) string {
	ctx, del := tr.StartDelivery(context.Background(), hdr, subject, consumer, msgID, 1)
	for _, stage := range []string{tracing.StageModel, tracing.StageRender, tracing.StageValidate} {
		_, s := tr.StartStage(ctx, stage)
		s.End()
	}
	_, dep := tr.StartDeploy(ctx, "s3")
	tracing.End(dep, nil)
	_, ack := tr.StartStage(ctx, tracing.StageAck)
	ack.End()
	id := tracing.TraceID(ctx)
	del.End()
	return id
}

var sink string

// BenchmarkDeliveryOff is the cost of the tracing of a delivery when
// tracing is off (a nil Tracer), with a traceparent in the headers.
func BenchmarkDeliveryOff(b *testing.B) {
	hdr := nats.Header{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	b.ReportAllocs()
	for b.Loop() {
		sink = delivery(nil, hdr)
	}
}

// BenchmarkDeliveryOn is the same with an SDK provider that samples
// everything and drops the spans.
func BenchmarkDeliveryOn(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tracing.New(tp)
	hdr := nats.Header{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}
	b.ReportAllocs()
	for b.Loop() {
		sink = delivery(tr, hdr)
	}
}

// BenchmarkPublishOff is the cost of the tracing of a publish when off.
func BenchmarkPublishOff(b *testing.B) {
	hdr := nats.Header{}
	b.ReportAllocs()
	for b.Loop() {
		ctx, span := tracing.StartPublish(context.Background(), subject, msgID)
		tracing.Inject(ctx, hdr)
		tracing.End(span, nil)
	}
}
