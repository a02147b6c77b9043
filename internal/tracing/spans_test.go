package tracing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen/internal/tracing"
)

const (
	subject  = "regen.changes.high.node_added"
	consumer = "regen-high"
	msgID    = "ev-1"
)

// TestConnectedTrace follows one event: its publish span is carried in
// the message headers, the delivery span continues it, the stages are
// children of the delivery, a derived re-render links back to it.
func TestConnectedTrace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tr := b.tracer

	pctx, pub := tr.StartPublish(context.Background(), subject, msgID)
	hdr := nats.Header{}
	hdr.Set(nats.MsgIdHdr, msgID)
	tr.Inject(pctx, hdr)
	pub.End()
	if hdr.Get("traceparent") == "" {
		t.Fatalf("no traceparent in %v", hdr)
	}

	dctx, del := tr.StartDelivery(context.Background(), hdr, subject, consumer, msgID, 3)
	traceID := tracing.TraceID(dctx)
	for _, stage := range []string{tracing.StageModel, tracing.StageRender, tracing.StageValidate} {
		_, s := tr.StartStage(dctx, stage)
		s.End()
	}
	_, dep := tr.StartDeploy(dctx, "s3")
	tracing.End(dep, errors.New("bucket gone"))
	_, ack := tr.StartStage(dctx, tracing.StageAck)
	ack.End()
	_, rerender := tr.StartPublish(dctx, "regen.changes.normal.node_updated", "ev-2",
		trace.WithNewRoot(), tracing.LinkTo(trace.SpanContextFromContext(dctx)))
	rerender.End()
	del.End()

	spans := b.byName(t)
	p := mustSpan(t, spans, "publish "+subject)
	d := mustSpan(t, spans, "process "+subject)
	mustEqual(t, "TraceID", traceID, p.SpanContext.TraceID().String())

	mustKind(t, p, trace.SpanKindProducer)
	mustAttr(t, p, "messaging.system", "nats")
	mustAttr(t, p, "messaging.destination.name", subject)
	mustAttr(t, p, "messaging.operation.type", "send")
	mustAttr(t, p, "messaging.message.id", msgID)

	mustKind(t, d, trace.SpanKindConsumer)
	mustChild(t, d, p)
	mustEqual(t, "delivery parent remote", d.Parent.IsRemote(), true)
	mustAttr(t, d, "messaging.system", "nats")
	mustAttr(t, d, "messaging.destination.name", subject)
	mustAttr(t, d, "messaging.consumer.group.name", consumer)
	mustAttr(t, d, "messaging.operation.type", "process")
	mustAttr(t, d, "messaging.message.id", msgID)
	mustAttr(t, d, "messaging.nats.message.delivery_count", "3")

	for _, stage := range []string{tracing.StageModel, tracing.StageRender, tracing.StageValidate, tracing.StageDeploy, tracing.StageAck} {
		s := mustSpan(t, spans, stage)
		mustKind(t, s, trace.SpanKindInternal)
		mustChild(t, s, d)
	}
	dep2 := mustSpan(t, spans, tracing.StageDeploy)
	mustAttr(t, dep2, "regen.deploy.target", "s3")
	mustEqual(t, "deploy status", dep2.Status.Code, codes.Error)
	mustEqual(t, "deploy status description", dep2.Status.Description, "bucket gone")

	r := mustSpan(t, spans, "publish regen.changes.normal.node_updated")
	if r.SpanContext.TraceID() == d.SpanContext.TraceID() || r.Parent.IsValid() {
		t.Fatalf("re-render span is not a new root: parent %v", r.Parent)
	}
	mustEqual(t, "re-render links", len(r.Links), 1)
	mustEqual(t, "link span", r.Links[0].SpanContext.SpanID(), d.SpanContext.SpanID())
	mustEqual(t, "link trace", r.Links[0].SpanContext.TraceID(), d.SpanContext.TraceID())
	mustEqual(t, "link type", r.Links[0].Attributes[0].Value.AsString(), tracing.LinkCausedBy)
}

// TestDeliveryWithoutParent starts a new trace when the message carries
// no traceparent.
func TestDeliveryWithoutParent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, del := b.tracer.StartDelivery(context.Background(), nats.Header{}, subject, consumer, msgID, 1)
	if tracing.TraceID(ctx) == "" {
		t.Fatal("no trace id for a new delivery trace")
	}
	del.End()
	d := mustSpan(t, b.byName(t), "process "+subject)
	if d.Parent.IsValid() {
		t.Fatalf("delivery has parent %v", d.Parent)
	}
}

// TestStageWithoutDelivery starts no span: a stage is never a root.
func TestStageWithoutDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sctx, s := b.tracer.StartStage(ctx, tracing.StageModel)
	s.End()
	_, d := b.tracer.StartDeploy(ctx, "s3")
	d.End()
	mustEqual(t, "stage ctx", sctx, ctx)
	mustEqual(t, "spans", len(b.spans.GetSpans()), 0)
}

// TestDisabled checks that a nil Tracer starts nothing and leaves ctx and
// headers alone.
func TestDisabled(t *testing.T) {
	t.Parallel()
	var tr *tracing.Tracer
	mustEqual(t, "Enabled", tr.Enabled(), false)
	ctx := context.Background()
	pctx, pub := tr.StartPublish(ctx, subject, msgID)
	hdr := nats.Header{}
	tr.Inject(pctx, hdr)
	pub.End()
	mustEqual(t, "headers", len(hdr), 0)
	dctx, del := tr.StartDelivery(ctx, nats.Header{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}, subject, consumer, msgID, 1)
	mustEqual(t, "delivery ctx", dctx, ctx)
	mustEqual(t, "delivery recording", del.IsRecording(), false)
	tracing.End(del, errors.New("ignored"))
	mustEqual(t, "TraceID", tracing.TraceID(dctx), "")
}

// TestTraceIDUnsampled is "" for a remote parent that is not sampled.
func TestTraceIDUnsampled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hdr := nats.Header{"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}}
	ctx := b.tracer.Extract(context.Background(), hdr)
	mustEqual(t, "extracted valid", trace.SpanContextFromContext(ctx).IsValid(), true)
	mustEqual(t, "TraceID", tracing.TraceID(ctx), "")
	hdr["traceparent"] = []string{"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	ctx = b.tracer.Extract(context.Background(), hdr)
	mustEqual(t, "TraceID", tracing.TraceID(ctx), "0af7651916cd43dd8448eb211c80319c")
}

// TestDefault checks the package-level functions follow SetDefault.
func TestDefault(t *testing.T) {
	b := setup(t)
	prev := tracing.SetDefault(b.tracer)
	t.Cleanup(func() { tracing.SetDefault(prev) })
	ctx, del := tracing.StartDelivery(context.Background(), nil, subject, consumer, msgID, 1)
	_, s := tracing.StartStage(ctx, tracing.StageRender)
	s.End()
	hdr := nats.Header{}
	tracing.Inject(ctx, hdr)
	del.End()
	mustEqual(t, "spans", len(b.spans.GetSpans()), 2)
	mustEqual(t, "extracted", trace.SpanContextFromContext(tracing.Extract(context.Background(), hdr)).TraceID(),
		trace.SpanContextFromContext(ctx).TraceID())
}
