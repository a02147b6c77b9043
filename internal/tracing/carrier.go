package tracing

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HeaderCarrier is a propagation.TextMapCarrier over NATS message headers.
// NATS header names are case-sensitive: Set stores the key exactly as the
// propagator gives it ("traceparent", "tracestate"), and Get looks the key
// up exactly first, then case-insensitively (a "Traceparent" written by an
// HTTP-style client).
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key, "" when there is none.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key with value; a nil carrier ignores it.
func (c HeaderCarrier) Set(key, value string) {
	if c != nil {
		c[key] = []string{value}
	}
}

// Keys returns the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the span context of ctx into hdr as traceparent (and
// tracestate when it has one). It does nothing when t is disabled, when
// ctx carries no valid span context, or when hdr is nil (nats.NewMsg makes
// a message's header map).
func (t *Tracer) Inject(ctx context.Context, hdr nats.Header) {
	if t == nil || hdr == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	t.prop.Inject(ctx, HeaderCarrier(hdr))
}

// Extract returns ctx with the remote span context read from hdr's
// traceparent/tracestate, ctx itself when t is disabled or hdr has none
// (or an invalid one).
func (t *Tracer) Extract(ctx context.Context, hdr nats.Header) context.Context {
	if t == nil || len(hdr) == 0 {
		return ctx
	}
	return t.prop.Extract(ctx, HeaderCarrier(hdr))
}

// Inject is Default().Inject.
func Inject(ctx context.Context, hdr nats.Header) { Default().Inject(ctx, hdr) }

// Extract is Default().Extract.
func Extract(ctx context.Context, hdr nats.Header) context.Context {
	return Default().Extract(ctx, hdr)
}
