package tracing

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The environment variables that decide whether tracing is on; the OTLP
// exporter and the SDK read the other OTEL_* variables themselves
// (headers, certificates, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvSDKDisabled    = "OTEL_SDK_DISABLED"
	EnvTracesExporter = "OTEL_TRACES_EXPORTER"
)

// Env is the tracing environment as read by ReadEnv.
type Env struct {
	// Enabled is true when an OTLP endpoint is set, OTEL_SDK_DISABLED is
	// not true and OTEL_TRACES_EXPORTER is not none.
	Enabled bool
	// Endpoint is the URL spans are sent to (informational: the exporter
	// resolves it from the same variables).
	Endpoint string
}

// ReadEnv reads and validates the OTEL_* variables through getenv
// (os.Getenv). Every invalid variable is reported, by name, in one joined
// error; an invalid variable is an error even when tracing would be off.
func ReadEnv(getenv func(string) string) (Env, error) {
	var errs []error
	check := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	disabled, err := parseBool(getenv(EnvSDKDisabled))
	check(EnvSDKDisabled, err)
	exporter, err := parseExporter(getenv(EnvTracesExporter))
	check(EnvTracesExporter, err)
	for _, name := range []string{EnvEndpoint, EnvTracesEndpoint} {
		check(name, checkEndpoint(getenv(name)))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		check(name, checkProtocol(getenv(name)))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"} {
		check(name, checkMillis(getenv(name)))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE"} {
		_, err := parseBool(getenv(name))
		check(name, err)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"} {
		check(name, checkCompression(getenv(name)))
	}
	if len(errs) > 0 {
		return Env{}, fmt.Errorf("tracing environment: %w", errors.Join(errs...))
	}
	env := Env{Endpoint: getenv(EnvTracesEndpoint)}
	if env.Endpoint == "" && getenv(EnvEndpoint) != "" {
		env.Endpoint = strings.TrimSuffix(getenv(EnvEndpoint), "/") + "/v1/traces"
	}
	env.Enabled = env.Endpoint != "" && !disabled && exporter
	return env, nil
}

// parseBool reads an OTEL boolean: "", "false" or "true", any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// parseExporter reads OTEL_TRACES_EXPORTER: otlp (the default) or none.
func parseExporter(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "otlp":
		return true, nil
	case "none":
		return false, nil
	}
	return false, fmt.Errorf("%q is not supported (otlp or none)", v)
}

// checkEndpoint accepts "" or an http(s) URL with a host and no query or
// fragment.
func checkEndpoint(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", v)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", v)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: no query or fragment allowed", v)
	}
	return nil
}

// checkProtocol accepts the OTLP/HTTP protocols: regen links no gRPC
// exporter.
func checkProtocol(v string) error {
	switch v {
	case "", "http/protobuf", "http/json":
		return nil
	}
	return fmt.Errorf("%q is not supported (http/protobuf or http/json)", v)
}

// checkMillis accepts "" or a non-negative number of milliseconds.
func checkMillis(v string) error {
	if v == "" {
		return nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
		return fmt.Errorf("%q is not a non-negative number of milliseconds", v)
	}
	return nil
}

// checkCompression accepts "", gzip or none.
func checkCompression(v string) error {
	switch v {
	case "", "gzip", "none":
		return nil
	}
	return fmt.Errorf("%q is not supported (gzip or none)", v)
}
