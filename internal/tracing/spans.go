package tracing

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// The attributes of regen's spans that semconv v1.43.0 does not define.
// The delivery count follows the semconv pattern of the other systems
// (messaging.servicebus.message.delivery_count,
// messaging.gcp_pubsub.message.delivery_attempt).
const (
	DeliveryCountKey = attribute.Key("messaging.nats.message.delivery_count")
	TargetKey        = attribute.Key("regen.deploy.target")
	ArtifactsKey     = attribute.Key("regen.artifacts") // artifacts a regenerate or render span returned
	LinkTypeKey      = attribute.Key("regen.link.type")
)

// The values of messaging.operation.name of the publish and delivery
// spans; the span names are "<operation> <subject>".
const (
	OperationPublish = "publish"
	OperationProcess = "process"
)

// The names of the child spans of a delivery: regenerate (the engine
// call, through its breaker) holds model and render, each artifact's
// deploy holds a deploy per target, which holds its validate.
const (
	StageRegenerate = "regenerate"
	StageModel      = "model"
	StageRender     = "render"
	StageValidate   = "validate"
	StageDeploy     = "deploy"
	StageAck        = "ack"
)

// The values of regen.link.type: LinkCausedBy links a derived
// re-render to the change that caused it, LinkGroupedWith a grouped
// delivery to the delivery under which its group's work ran.
const (
	LinkCausedBy    = "caused_by"
	LinkGroupedWith = "grouped_with"
)

var messagingNATS = semconv.MessagingSystemKey.String("nats")

// StartPublish starts the producer span of one publish of the message
// msgID (its Nats-Msg-Id) to subject, a child of the span in ctx (a new
// trace without one). Pass the returned ctx to Inject to carry the span in
// the message's headers. opts add to the span's options (LinkTo).
// Disabled, it returns ctx and a no-op span.
func (t *Tracer) StartPublish(ctx context.Context, subject, msgID string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop.Span{}
	}
	opts = append(opts, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		messagingNATS,
		semconv.MessagingDestinationName(subject),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName(OperationPublish),
		semconv.MessagingMessageID(msgID),
	))
	return t.tracer.Start(ctx, OperationPublish+" "+subject, opts...)
}

// StartDelivery starts the consumer span of one delivery (the deliveries'th)
// of message msgID from subject to the durable consumer, its parent the
// span context in hdr (the publish span), or a new trace without one.
// Disabled, it returns ctx and a no-op span.
func (t *Tracer) StartDelivery(ctx context.Context, hdr nats.Header, subject, consumer, msgID string, deliveries uint64) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop.Span{}
	}
	ctx = t.Extract(ctx, hdr)
	return t.tracer.Start(ctx, OperationProcess+" "+subject,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			messagingNATS,
			semconv.MessagingDestinationName(subject),
			semconv.MessagingConsumerGroupName(consumer),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName(OperationProcess),
			semconv.MessagingMessageID(msgID),
			DeliveryCountKey.Int64(int64(min(deliveries, 1<<63-1))),
		))
}

// StartStage starts the child span name (StageModel, StageRender, ...) of
// the recording span in ctx. Without one (disabled, not sampled, no
// delivery span) it returns ctx and a no-op span: a stage is never a root.
func (t *Tracer) StartStage(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noop.Span{}
	}
	return t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// StartDeploy starts the StageDeploy child span of one deploy to target,
// as StartStage does, with regen.deploy.target = target (the attribute is
// built only when the span records).
func (t *Tracer) StartDeploy(ctx context.Context, target string) (context.Context, trace.Span) {
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noop.Span{}
	}
	return t.tracer.Start(ctx, StageDeploy, trace.WithAttributes(TargetKey.String(target)))
}

// StartPublish is Default().StartPublish.
func StartPublish(ctx context.Context, subject, msgID string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Default().StartPublish(ctx, subject, msgID, opts...)
}

// StartDelivery is Default().StartDelivery.
func StartDelivery(ctx context.Context, hdr nats.Header, subject, consumer, msgID string, deliveries uint64) (context.Context, trace.Span) {
	return Default().StartDelivery(ctx, hdr, subject, consumer, msgID, deliveries)
}

// StartStage is Default().StartStage.
func StartStage(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return Default().StartStage(ctx, name, attrs...)
}

// StartDeploy is Default().StartDeploy.
func StartDeploy(ctx context.Context, target string) (context.Context, trace.Span) {
	return Default().StartDeploy(ctx, target)
}

// LinkTo returns the span option that links a span to cause with
// regen.link.type = caused_by: a derived re-render's publish span links to
// the span of the change that caused it,
//
//	StartPublish(ctx, subject, id, trace.WithNewRoot(), LinkTo(trace.SpanContextFromContext(ctx)))
//
// An invalid cause adds no link.
func LinkTo(cause trace.SpanContext) trace.SpanStartOption {
	if !cause.IsValid() {
		return trace.WithLinks()
	}
	return trace.WithLinks(trace.Link{SpanContext: cause, Attributes: []attribute.KeyValue{LinkTypeKey.String(LinkCausedBy)}})
}

// GroupedWith is the link from a delivery applied in a group to lead, the
// delivery span under which the group's work ran (an invalid lead gives
// an empty link, which AddLink drops).
func GroupedWith(lead trace.SpanContext) trace.Link {
	if !lead.IsValid() {
		return trace.Link{}
	}
	return trace.Link{SpanContext: lead, Attributes: []attribute.KeyValue{LinkTypeKey.String(LinkGroupedWith)}}
}

// End ends span, recording err (when not nil) as its error status.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// TraceID returns the hex trace id of the span context in ctx for the
// telemetry envelopes, "" when ctx has none or it is not sampled.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}
