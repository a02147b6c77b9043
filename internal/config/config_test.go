package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return l.Load(func(k string) string { return env[k] })
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "regen.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreTheSeeds(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Orchestrator
	if !o.Autonomous || !o.AdaptiveOptimization || o.TargetCycle != 30*time.Second ||
		o.HealthCheckInterval != time.Minute || o.MaxConcurrent < 1 {
		t.Fatalf("defaults = %+v", o)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "max_concurrent: 3\nbatch_size: 7\ntarget_cycle: 5s\nnats:\n  url: nats://file:4222\n")
	env := map[string]string{"REGEN_BATCH_SIZE": "9", "REGEN_TARGET_CYCLE": "6s"}
	cfg, err := load(t, []string{"--config", file, "--target-cycle", "8s", "--deploy", "dir:/a", "--deploy", "objectstore:B"}, env)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Orchestrator
	if o.MaxConcurrent != 3 || o.BatchSize != 9 || o.TargetCycle != 8*time.Second || cfg.NATS.URL != "nats://file:4222" {
		t.Fatalf("precedence wrong: %+v nats=%q", o, cfg.NATS.URL)
	}
	if got := strings.Join(cfg.Deploy, ","); got != "dir:/a,objectstore:B" {
		t.Fatalf("deploy = %q", got)
	}
}

func TestInvalidValuesAreAllNamed(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--max-concurrent", "0", "--deploy", "ftp:x", "--log-level", "loud"},
		map[string]string{"REGEN_NAK_DELAY": "soon"})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"nak_delay", "REGEN_NAK_DELAY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	_, err = load(t, []string{"--max-concurrent", "0", "--deploy", "ftp:x", "--log-level", "loud",
		"--console-trace-url", "http://jaeger/trace/"}, nil)
	for _, want := range []string{"max_concurrent", "deploy", "log.level", "console_trace_url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestUnknownFileFieldIsRefused(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "max_concurent: 3\n")
	_, err := load(t, []string{"--config", file}, nil)
	if err == nil || !strings.Contains(err.Error(), "max_concurent") || !strings.Contains(err.Error(), file) {
		t.Fatalf("err = %v, want the file and the unknown field named", err)
	}
}

func TestOnceAndYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, []string{"--once", "--password", "s3cret", "--console-token", "c0nsole"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Orchestrator.Autonomous || cfg.ConsoleToken != "c0nsole" {
		t.Fatal("--once left autonomous on")
	}
	out, err := YAML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") || strings.Contains(string(out), "c0nsole") ||
		!strings.Contains(string(out), "max_concurrent:") {
		t.Fatalf("yaml:\n%s", out)
	}
	back, err := load(t, []string{"--config", writeFile(t, strings.ReplaceAll(string(out), "REDACTED", "x"))}, nil)
	if err != nil || back.Orchestrator.Autonomous {
		t.Fatalf("printed config does not load back: %v", err)
	}
}

func TestStorageLimits(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DLQ != (DLQ{MaxBytes: 1 << 30, AlertRatio: 0.8}) || cfg.Telemetry != (Telemetry{MaxBytes: 256 << 20, MaxAge: 24 * time.Hour}) {
		t.Fatalf("defaults: dlq %+v telemetry %+v", cfg.DLQ, cfg.Telemetry)
	}
	file := writeFile(t, "dlq: {max_bytes: 1000, max_msgs: 7}\ntelemetry: {max_age: 2h}\n")
	cfg, err = load(t, []string{"--config", file, "--dlq-max-age", "72h", "--telemetry-max-bytes", "5000"},
		map[string]string{"REGEN_DLQ_MAX_BYTES": "2000", "REGEN_DLQ_ALERT_RATIO": "0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DLQ != (DLQ{MaxBytes: 2000, MaxMsgs: 7, MaxAge: 72 * time.Hour, AlertRatio: 0.5}) ||
		cfg.Telemetry != (Telemetry{MaxBytes: 5000, MaxAge: 2 * time.Hour}) {
		t.Fatalf("overlaid: dlq %+v telemetry %+v", cfg.DLQ, cfg.Telemetry)
	}
	out, err := YAML(cfg)
	if err != nil || !strings.Contains(string(out), "dlq:\n  max_bytes: 2000\n  max_msgs: 7\n  max_age: 72h0m0s\n  alert_ratio: 0.5\n") ||
		!strings.Contains(string(out), "telemetry:\n  max_bytes: 5000\n  max_age: 2h0m0s\n") {
		t.Fatalf("yaml (%v):\n%s", err, out)
	}
	_, err = load(t, []string{"--dlq-max-bytes", "0", "--dlq-max-msgs", "-1", "--dlq-max-age", "-1s", "--dlq-alert-ratio", "1.5",
		"--telemetry-max-bytes", "-5", "--telemetry-max-age", "0s"}, nil)
	for _, want := range []string{"dlq.max_bytes", "dlq.max_msgs", "dlq.max_age", "dlq.alert_ratio", "telemetry.max_bytes", "telemetry.max_age"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestYAMLRedactsCredentialsInTheNATSURL(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, []string{"--nats-url", "nats://u:secret@n1:4222,nats://t0ken-abc@n2:4222", "--token", "tok-xyz"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := YAML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret", "t0ken-abc", "tok-xyz"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("printed config shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "nats://u:REDACTED@n1:4222,nats://REDACTED@n2:4222") {
		t.Fatalf("printed config lost the servers:\n%s", out)
	}
	if cfg.NATS.URL != "nats://u:secret@n1:4222,nats://t0ken-abc@n2:4222" {
		t.Fatalf("redacting changed the config in use: %q", cfg.NATS.URL)
	}
}

func TestSignalDebounce(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, nil, map[string]string{"REGEN_SIGNAL_DEBOUNCE": "250ms"})
	if err != nil || cfg.SignalDebounce != 250*time.Millisecond {
		t.Fatalf("debounce = %s (%v)", cfg.SignalDebounce, err)
	}
	if def, _ := load(t, nil, nil); def.SignalDebounce != SignalDebounceDefault {
		t.Fatalf("default debounce = %s", def.SignalDebounce)
	}
	if _, err := load(t, []string{"--signal-debounce", "-1s"}, nil); err == nil || !strings.Contains(err.Error(), "signal_debounce") {
		t.Fatalf("negative debounce: %v", err)
	}
}

func TestEnvVarsAreTheSettings(t *testing.T) {
	t.Parallel()
	env := EnvVars()
	for _, want := range []string{"REGEN_CONFIG", "REGEN_NATS_URL", "REGEN_MAX_CONCURRENT", "REGEN_SIGNAL_DEBOUNCE", "REGEN_BREAKER_CALL_TIMEOUT"} {
		if !slices.Contains(env, want) {
			t.Errorf("EnvVars lacks %s", want)
		}
	}
}
