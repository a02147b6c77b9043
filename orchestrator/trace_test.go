package orchestrator

import (
	"testing"

	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/internal/tracing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Every message of a group gets its own delivery span; the group's one
// engine call and deploy run under the first one's, and the others link
// to it. Not parallel: it sets the default tracer.
func TestGroupedDeliveriesAreTracedAndLinked(t *testing.T) {
	exp := testkit.InstallTracer(t)
	b := setupGroup(t, func(*Config) {})
	checkCounts(t, b.cycle(nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "A")), counts{succeeded: 3, deployments: 1})
	spans := exp.GetSpans()
	var deliveries []tracetest.SpanStub
	under := map[trace.SpanID][]string{}
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindConsumer {
			deliveries = append(deliveries, s)
		}
		under[s.Parent.SpanID()] = append(under[s.Parent.SpanID()], s.Name)
	}
	if len(deliveries) != 3 {
		t.Fatalf("%d delivery spans, want 3 (spans %v)", len(deliveries), names(spans))
	}
	var lead tracetest.SpanStub
	for _, d := range deliveries {
		if len(d.Links) == 0 {
			lead = d
		}
	}
	if !lead.SpanContext.IsValid() {
		t.Fatal("no delivery span without a link: none ran the group's work")
	}
	for _, d := range deliveries {
		if d.SpanContext.SpanID() == lead.SpanContext.SpanID() {
			continue
		}
		if len(d.Links) != 1 || d.Links[0].SpanContext.SpanID() != lead.SpanContext.SpanID() {
			t.Errorf("delivery %v links %v, want one link to the lead %v", d.SpanContext.SpanID(), d.Links, lead.SpanContext.SpanID())
		}
		if len(under[d.SpanContext.SpanID()]) != 1 || under[d.SpanContext.SpanID()][0] != tracing.StageAck {
			t.Errorf("linked delivery holds %v, want its ack alone", under[d.SpanContext.SpanID()])
		}
	}
	got := map[string]int{}
	for _, n := range under[lead.SpanContext.SpanID()] {
		got[n]++
	}
	for _, n := range []string{tracing.StageRegenerate, tracing.StageDeploy, tracing.StageAck} {
		if got[n] != 1 {
			t.Errorf("lead delivery holds %v, want one %s", got, n)
		}
	}
}

// names lists the spans' names.
func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
