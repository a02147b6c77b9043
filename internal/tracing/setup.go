package tracing

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Option configures Setup.
type Option func(*options)

type options struct {
	instanceID string
	getenv     func(string) string
}

// WithInstanceID sets service.instance.id (the replica name); the default
// is "<hostname>-<pid>".
func WithInstanceID(id string) Option { return func(o *options) { o.instanceID = id } }

// WithGetenv reads the environment through getenv instead of os.Getenv
// (the exporter still reads its own OTEL_EXPORTER_OTLP_* variables from
// the process environment).
func WithGetenv(getenv func(string) string) Option { return func(o *options) { o.getenv = getenv } }

// Setup turns tracing on when the environment asks for it (ReadEnv): it
// installs, as the otel globals and as Default, an SDK TracerProvider that
// batches spans to an OTLP/HTTP exporter, with the resource service.name =
// service, service.version = version and service.instance.id (overridden
// by OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES), and the W3C Trace
// Context propagator. Otherwise it changes nothing and returns a shutdown
// that does nothing. An invalid environment is an error naming the
// variable.
//
// shutdown flushes the spans still batched, stops the provider and puts
// the previous globals and Default back; call it once, with a deadline.
func Setup(ctx context.Context, service, version string, opts ...Option) (shutdown func(context.Context) error, err error) {
	o := options{getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	env, err := ReadEnv(o.getenv)
	if err != nil {
		return nil, err
	}
	if !env.Enabled {
		return func(context.Context) error { return nil }, nil
	}
	tp, err := newProvider(ctx, service, version, o.instanceID)
	if err != nil {
		return nil, err
	}
	return install(tp), nil
}

// newProvider builds the SDK provider with its batching OTLP exporter.
func newProvider(ctx context.Context, service, version, instanceID string) (*sdktrace.TracerProvider, error) {
	res, err := newResource(ctx, service, version, instanceID)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// newResource describes this process; the environment's attributes win
// over the ones given here.
func newResource(ctx context.Context, service, version, instanceID string) (*resource.Resource, error) {
	if instanceID == "" {
		instanceID = defaultInstanceID()
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(version), semconv.ServiceInstanceID(instanceID)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	return res, nil
}

// defaultInstanceID is "<hostname>-<pid>", the default replica name.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "regen"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// install makes tp the otel global provider and the provider of Default,
// with the Trace Context propagator, and returns the shutdown that undoes
// it.
func install(tp *sdktrace.TracerProvider) func(context.Context) error {
	prevProvider, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	prevTracer := SetDefault(New(tp))
	return func(ctx context.Context) error {
		SetDefault(prevTracer)
		otel.SetTracerProvider(prevProvider)
		otel.SetTextMapPropagator(prevProp)
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("tracing: shutdown: %w", err)
		}
		return nil
	}
}
