// Package tracing owns regen's OpenTelemetry tracing: the environment that
// turns it on (OTEL_EXPORTER_OTLP_* set, OTLP over HTTP), the W3C
// traceparent/tracestate carried in NATS message headers, and the spans of
// one change event: a producer span per publish, a consumer span per
// delivery with the messaging semantic-convention attributes, and child
// spans for the stages of the delivery (model, render, validate, deploy per
// target, ack).
//
// Tracing is off unless Setup finds an OTLP endpoint in the environment.
// Off, every helper returns at once: a nil *Tracer is a valid, disabled
// tracer, and the package-level functions use the Tracer that Setup
// installed (nil when off).
//
//	shutdown, err := tracing.Setup(ctx, "regen", version, tracing.WithInstanceID(replica))
//	if err != nil {
//		return err
//	}
//	defer shutdown(context.Background())
//
//	// publisher
//	ctx, span := tracing.StartPublish(ctx, subject, ev.ID)
//	tracing.Inject(ctx, msg.Header)
//	_, err = js.PublishMsg(ctx, msg)
//	tracing.End(span, err)
//
//	// consumer
//	ctx, span := tracing.StartDelivery(ctx, m.Headers(), m.Subject(), consumer, id, m.Deliveries())
//	defer span.End()
//	sctx, stage := tracing.StartDeploy(ctx, target)
//	err := deploy(sctx)
//	tracing.End(stage, err)
//
// Nothing in regen calls this package yet: docs/tracing.md has the plan.
package tracing
