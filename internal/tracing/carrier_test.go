package tracing_test

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/internal/tracing"
)

func TestHeaderCarrier(t *testing.T) {
	t.Parallel()
	hdr := nats.Header{}
	c := tracing.HeaderCarrier(hdr)
	c.Set("traceparent", "a")
	c.Set("traceparent", "b")
	mustEqual(t, "exact key stored", hdr["traceparent"][0], "b")
	mustEqual(t, "values", len(hdr["traceparent"]), 1)
	mustEqual(t, "Get", c.Get("traceparent"), "b")
	mustEqual(t, "Get missing", c.Get("tracestate"), "")

	hdr["Tracestate"] = []string{"k=v"}
	mustEqual(t, "Get case-insensitive", c.Get("tracestate"), "k=v")
	hdr["tracestate"] = []string{"exact=1"}
	mustEqual(t, "Get prefers exact", c.Get("tracestate"), "exact=1")
	hdr["empty"] = nil
	mustEqual(t, "Get empty", c.Get("empty"), "")

	got := c.Keys()
	slices.Sort(got)
	mustEqual(t, "Keys", slices.Equal(got, []string{"Tracestate", "empty", "traceparent", "tracestate"}), true)

	var nilC tracing.HeaderCarrier
	nilC.Set("traceparent", "x") // no panic
	mustEqual(t, "nil Get", nilC.Get("traceparent"), "")
	mustEqual(t, "nil Keys", len(nilC.Keys()), 0)
}
