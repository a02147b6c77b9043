package main

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/internal/tracing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// One event published by `regen publish` and deployed by a replica is one
// connected trace: the publish span is the root, the delivery span its
// child with the messaging attributes, the stages under it (checkStages); its deployment_completed telemetry
// carries the trace id. Not parallel: it sets the default tracer.
func TestPublishThroughDeployIsOneTrace(t *testing.T) {
	exp := testkit.InstallTracer(t)
	srv := testkit.StartServer(t)
	startReplica(t, srv, "trace-a")
	const id = "trace-1"
	if out, err := publishFile(t, srv, `{"id":"`+id+`","change_type":"node_added","subject":"urn:trace","properties":{"rdfs:label":"Traced"}}`); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	isDelivery := func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindConsumer && attr(s, "messaging.message.id") == id
	}
	testkit.WaitFor(t, 30*time.Second, "the delivery span of "+id+" to end", func() bool {
		for _, s := range exp.GetSpans() {
			if isDelivery(s) {
				return true
			}
		}
		return false
	})
	spans := exp.GetSpans()
	var pub, del tracetest.SpanStub
	for _, s := range spans {
		switch {
		case s.SpanKind == trace.SpanKindProducer && attr(s, "messaging.message.id") == id:
			pub = s
		case isDelivery(s):
			del = s
		}
	}
	if !pub.SpanContext.IsValid() || pub.Parent.IsValid() {
		t.Fatalf("publish span: %+v (want a root)", pub)
	}
	tid := pub.SpanContext.TraceID()
	if del.SpanContext.TraceID() != tid || del.Parent.SpanID() != pub.SpanContext.SpanID() {
		t.Fatalf("delivery span is not the publish span's child: parent %v, publish %v", del.Parent, pub.SpanContext)
	}
	subject := attr(pub, "messaging.destination.name")
	for k, want := range map[attribute.Key]string{
		"messaging.system":                      "nats",
		"messaging.destination.name":            subject,
		"messaging.operation.type":              "process",
		"messaging.nats.message.delivery_count": "1",
		"regen.outcome":                         "succeeded",
	} {
		if got := attr(del, k); got != want {
			t.Errorf("delivery %s = %q, want %q", k, got, want)
		}
	}
	// The replica pulls through one consumer per priority level.
	if got := attr(del, "messaging.consumer.group.name"); !strings.HasPrefix(got, wire.ConsumerDefault) {
		t.Errorf("delivery consumer = %q, want a %s consumer", got, wire.ConsumerDefault)
	}
	if subject == "" || del.Name != "process "+subject {
		t.Errorf("delivery span %q, publish subject %q", del.Name, subject)
	}
	checkStages(t, spans, del)
	_, js := testkit.Connect(t, srv)
	var traced string
	testkit.WaitFor(t, 30*time.Second, "deployment_completed of "+id, func() bool {
		err := testkit.ReadTelemetry(testkit.Context(t, 10*time.Second), js, wire.DeploymentCompleted, func(r wire.TelemetryRecord) {
			if r.Data["event_id"] == id {
				traced = r.TraceID
			}
		})
		return err == nil && traced != ""
	})
	if traced != tid.String() {
		t.Fatalf("deployment_completed trace_id = %q, want %s", traced, tid)
	}
}

// checkStages checks the stage spans under the delivery span del: the
// engine call (regenerate, holding model and render), each artifact's
// deploy (holding a deploy per target, holding its validate) and the ack.
func checkStages(t *testing.T, spans tracetest.SpanStubs, del tracetest.SpanStub) {
	t.Helper()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanContext.TraceID() == del.SpanContext.TraceID() {
			byID[s.SpanContext.SpanID()] = s
		}
	}
	type edge struct{ parent, child string }
	seen := map[edge]bool{}
	for _, s := range byID {
		if p, ok := byID[s.Parent.SpanID()]; ok {
			parent := p.Name
			if p.SpanContext.SpanID() == del.SpanContext.SpanID() {
				parent = "delivery"
			}
			seen[edge{parent, s.Name}] = true
		}
	}
	for _, want := range []edge{
		{"delivery", tracing.StageRegenerate}, {tracing.StageRegenerate, tracing.StageModel},
		{tracing.StageRegenerate, tracing.StageRender}, {"delivery", tracing.StageDeploy},
		{tracing.StageDeploy, tracing.StageDeploy}, {tracing.StageDeploy, tracing.StageValidate},
		{"delivery", tracing.StageAck},
	} {
		if !seen[want] {
			t.Errorf("no %s span under %s (spans %v)", want.child, want.parent, slices.Collect(maps.Keys(seen)))
		}
	}
	targets := 0
	for _, s := range byID {
		if attr(s, "regen.deploy.target") != "" {
			targets++
		}
	}
	if targets == 0 {
		t.Error("no per-target deploy span in the trace")
	}
}

// attr is the value of s's attribute k as a string ("" when absent).
func attr(s tracetest.SpanStub, k attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

// An invalid OTEL_* variable refuses to start, naming it (exit code 2).
// Not parallel: it sets the environment.
func TestPublishRefusesAnInvalidOTELEnvironment(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	var out bytes.Buffer
	err := publishCmd(context.Background(), []string{"--nats-url", "nats://127.0.0.1:1", "--synthetic", "1"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") || exitCode(err) != 2 {
		t.Fatalf("publish with a bad OTEL env: %v (exit %d)", err, exitCode(err))
	}
}

// TRACEPARENT in the environment makes the publish spans children of the
// trace it names. Not parallel: it sets the default tracer.
func TestPublishContinuesTheTraceOfTRACEPARENT(t *testing.T) {
	testkit.InstallTracer(t)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	env := map[string]string{"TRACEPARENT": parent}
	ctx := inputTrace(context.Background(), func(k string) string { return env[k] })
	_, span := tracing.StartPublish(ctx, "regen.changes.normal.node_added", "x")
	defer span.End()
	sc, ps := span.SpanContext(), trace.SpanContextFromContext(ctx)
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !ps.IsRemote() || ps.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("publish span %v under %v; want trace of %s", sc, ps, parent)
	}
	if got := inputTrace(context.Background(), func(string) string { return "" }); trace.SpanContextFromContext(got).IsValid() {
		t.Fatal("a trace without TRACEPARENT")
	}
}
