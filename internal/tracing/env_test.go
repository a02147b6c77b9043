package tracing_test

import (
	"strings"
	"testing"

	"github.com/regen-dev/regen/internal/tracing"
)

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestReadEnv(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env      map[string]string
		enabled  bool
		endpoint string
	}{
		"empty":           {env: nil},
		"endpoint":        {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318/"}, enabled: true, endpoint: "http://localhost:4318/v1/traces"},
		"traces endpoint": {env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://otel:4318/x", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1"}, enabled: true, endpoint: "https://otel:4318/x"},
		"sdk disabled":    {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_SDK_DISABLED": "TRUE"}, endpoint: "http://a:1/v1/traces"},
		"exporter none":   {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_TRACES_EXPORTER": "none"}, endpoint: "http://a:1/v1/traces"},
		"exporter otlp":   {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "false"}, enabled: true, endpoint: "http://a:1/v1/traces"},
		"other settings":  {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TIMEOUT": "500", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_INSECURE": "true"}, enabled: true, endpoint: "http://a:1/v1/traces"},
	} {
		env, err := tracing.ReadEnv(getenv(tc.env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mustEqual(t, name+" Enabled", env.Enabled, tc.enabled)
		mustEqual(t, name+" Endpoint", env.Endpoint, tc.endpoint)
	}
}

// TestReadEnvInvalid reports every bad variable by name.
func TestReadEnvInvalid(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "localhost:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://a:1/v1/traces?x=1",
		"OTEL_SDK_DISABLED":                  "yes",
		"OTEL_TRACES_EXPORTER":               "zipkin",
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT":  "10s",
		"OTEL_EXPORTER_OTLP_INSECURE":        "1",
		"OTEL_EXPORTER_OTLP_COMPRESSION":     "zstd",
	}
	_, err := tracing.ReadEnv(getenv(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	for _, v := range []string{"http://", "ftp://a:1", "http://a:1#f", "::"} {
		if _, err := tracing.ReadEnv(getenv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": v})); err == nil {
			t.Errorf("endpoint %q accepted", v)
		}
	}
}
