package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/internal/tracing"
)

// TestSetupOff leaves tracing off without an endpoint: no Tracer, no
// goroutine.
func TestSetupOff(t *testing.T) {
	t.Parallel()
	shutdown, err := tracing.Setup(context.Background(), "regen", "test", tracing.WithGetenv(getenv(nil)))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "Default enabled", tracing.Default().Enabled(), false)
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSetupOffNoGoroutines runs alone (not parallel) so that goleak sees
// only what Setup started.
func TestSetupOffNoGoroutines(t *testing.T) {
	shutdown, err := tracing.Setup(context.Background(), "regen", "test", tracing.WithGetenv(getenv(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"})))
	if err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
	mustEqual(t, "Default enabled", tracing.Default().Enabled(), false)
	_ = shutdown(context.Background())
}

func TestSetupInvalid(t *testing.T) {
	t.Parallel()
	_, err := tracing.Setup(context.Background(), "regen", "test",
		tracing.WithGetenv(getenv(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost"})))
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
		t.Fatalf("error %v does not name OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", err)
	}
}

// TestSetupExports sends the batched spans to an OTLP/HTTP endpoint on
// shutdown. It sets the process environment, so it does not run in
// parallel.
func TestSetupExports(t *testing.T) {
	var requests atomic.Int32
	var service atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			requests.Add(1)
			service.Store(strings.Contains(string(body), "regen-test") && strings.Contains(string(body), "replica-7"))
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)

	shutdown, err := tracing.Setup(context.Background(), "regen-test", "v0", tracing.WithInstanceID("replica-7"))
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "Default enabled", tracing.Default().Enabled(), true)
	_, span := tracing.StartPublish(context.Background(), subject, msgID)
	span.End()
	mustEqual(t, "requests before shutdown", requests.Load(), int32(0))

	if err := shutdown(testkit.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "requests to /v1/traces", requests.Load(), int32(1))
	mustEqual(t, "resource has service.name and service.instance.id", service.Load(), true)
	mustEqual(t, "Default enabled after shutdown", tracing.Default().Enabled(), false)
}
