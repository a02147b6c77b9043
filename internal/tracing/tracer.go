package tracing

import (
	"sync/atomic"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of regen's spans.
const ScopeName = "github.com/regen-dev/regen"

// Tracer starts regen's spans on one TracerProvider and carries their
// context in NATS headers with the W3C Trace Context propagator. A nil
// *Tracer is disabled: its methods return at once, allocate nothing and
// start no span. Safe for concurrent use.
type Tracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// New returns a Tracer on tp (nil for a nil tp: disabled).
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{tracer: tp.Tracer(ScopeName), prop: propagation.TraceContext{}}
}

// Enabled reports whether t starts spans.
func (t *Tracer) Enabled() bool { return t != nil }

// defaultTracer is the Tracer of the package-level functions.
var defaultTracer atomic.Pointer[Tracer]

// Default returns the Tracer of the package-level functions: the one Setup
// installed, nil (disabled) when tracing is off.
func Default() *Tracer { return defaultTracer.Load() }

// SetDefault makes t (nil: disabled) the Tracer of the package-level
// functions and returns the previous one. Setup calls it; tests of other
// packages call it with New(an in-memory provider) and restore the
// previous Tracer when they end.
func SetDefault(t *Tracer) *Tracer { return defaultTracer.Swap(t) }
