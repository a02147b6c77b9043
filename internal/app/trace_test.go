package app

import (
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/internal/tracing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A derived re-render (an artifact_stale event) is a trace of its own,
// whose publish span links to the span of the change that caused it, and
// whose delivery is that publish span's child. Not parallel: it sets the
// default tracer.
func TestDerivedReRendersLinkToTheirCause(t *testing.T) {
	exp := testkit.InstallTracer(t)
	b := setup(t, func(c *config.Config) { c.Templates = "../../examples/gopkg/templates" })
	b.start(t)
	publish(t, b.js, append(readEvents(t, "testdata/foaf.jsonl"), domainChanges(3)...))
	var link sdktrace.Link
	var staleDelivery tracetest.SpanStub
	testkit.WaitFor(t, 60*time.Second, "a re-render's delivery under a publish span linked to its cause", func() bool {
		link, staleDelivery = causedReRender(exp.GetSpans())
		return link.SpanContext.IsValid()
	})
	cause := spanByID(exp.GetSpans(), link.SpanContext.SpanID())
	if cause.SpanContext.TraceID() == staleDelivery.SpanContext.TraceID() {
		t.Fatal("the re-render shares its cause's trace; want a trace of its own, linked")
	}
	if cause.Name != tracing.StageRender {
		t.Errorf("the link points at a %q span, want the cause's render", cause.Name)
	}
}

// causedReRender finds a delivery of an artifact_stale event whose parent
// is a publish span with a caused_by link; it returns the link and the
// delivery span (a zero link when there is none yet).
func causedReRender(spans tracetest.SpanStubs) (sdktrace.Link, tracetest.SpanStub) {
	for _, d := range spans {
		if d.SpanKind != trace.SpanKindConsumer || !strings.HasPrefix(spanAttr(d, "messaging.message.id"), "stale-") {
			continue
		}
		p := spanByID(spans, d.Parent.SpanID())
		if p.SpanKind != trace.SpanKindProducer || p.Parent.IsValid() {
			continue
		}
		for _, l := range p.Links {
			for _, kv := range l.Attributes {
				if kv.Key == tracing.LinkTypeKey && kv.Value.AsString() == tracing.LinkCausedBy {
					return l, d
				}
			}
		}
	}
	return sdktrace.Link{}, tracetest.SpanStub{}
}

// spanByID is the span of spans with id (a zero stub when none).
func spanByID(spans tracetest.SpanStubs, id trace.SpanID) tracetest.SpanStub {
	for _, s := range spans {
		if s.SpanContext.SpanID() == id {
			return s
		}
	}
	return tracetest.SpanStub{}
}

// spanAttr is s's attribute k as a string ("" when absent).
func spanAttr(s tracetest.SpanStub, k attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}
