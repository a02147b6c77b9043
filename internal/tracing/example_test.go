package tracing_test

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/regen-dev/regen/internal/tracing"
)

// A publish span travels in the message headers; the delivery continues
// its trace, and the stages are children of the delivery.
func Example() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := tracing.New(tp)

	msg := nats.NewMsg("regen.changes.high.node_added")
	pctx, pub := tr.StartPublish(context.Background(), msg.Subject, "ev-1")
	tr.Inject(pctx, msg.Header)
	pub.End()

	ctx, del := tr.StartDelivery(context.Background(), msg.Header, msg.Subject, "regen-high", "ev-1", 1)
	_, dep := tr.StartDeploy(ctx, "s3")
	tracing.End(dep, nil)
	del.End()

	spans := exp.GetSpans()
	for _, s := range spans {
		fmt.Println(s.Name, s.SpanKind, s.SpanContext.TraceID() == spans[0].SpanContext.TraceID())
	}
	// Output:
	// publish regen.changes.high.node_added producer true
	// deploy internal true
	// process regen.changes.high.node_added consumer true
}
