package exec

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// sh is a generator written as a static script (configuration, not event
// data): event values reach it only as quoted environment variables.
func sh(t *testing.T, script string, mod ...func(*Config)) *Engine {
	t.Helper()
	cfg := Config{Command: []string{"/bin/sh", "-c", script}, ScratchDir: t.TempDir(), Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func execChange(subject string) wire.Change {
	pred, obj := "rdfs:subClassOf", "urn:x:Agent"
	return wire.Change{Seq: 42, ExecutionID: "exec-1", Event: wire.ChangeEvent{ID: "ev-1", ChangeType: wire.EdgeAdded,
		Subject: subject, Predicate: &pred, Object: &obj}}
}

func TestExecEngineCollectsWhatTheGeneratorWrites(t *testing.T) {
	t.Parallel()
	e := sh(t, `mkdir -p gen && cat > gen/event.json && printf '%s|%s|%s' "$REGEN_SUBJECT" "$REGEN_PREDICATE" "$REGEN_SEQ" > gen/env.txt`)
	arts, err := e.Regenerate(context.Background(), execChange("urn:x:Person; rm -rf / $(reboot)"))
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Path != "gen/env.txt" || arts[1].Path != "gen/event.json" {
		t.Fatalf("artifacts = %+v", arts)
	}
	if got := string(arts[0].Content); got != "urn:x:Person; rm -rf / $(reboot)|rdfs:subClassOf|42" {
		t.Fatalf("env = %q: event data must arrive verbatim, never interpreted", got)
	}
	if !strings.Contains(string(arts[1].Content), `"id":"ev-1"`) {
		t.Fatalf("stdin = %s", arts[1].Content)
	}
	a := arts[0]
	if a.Revision != 42 || a.EventID != "ev-1" || a.ExecutionID != "exec-1" || a.Hash != wire.ContentHash(a.Content) {
		t.Fatalf("artifact = %+v", a)
	}
}

func TestExecEngineFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, script string
		reason       string // "" for a transient failure
	}{
		{"exit 1 is transient", `echo boom >&2; exit 1`, ""},
		{"exit 65 is permanent", `echo bad input >&2; exit 65`, wire.ReasonExecRejected},
		{"symlink out is refused", `ln -s /etc/passwd leak`, wire.ReasonExecOutputNotRegular},
		{"fifo is refused", `mkfifo pipe`, wire.ReasonExecOutputNotRegular},
		{"unsafe path is refused", `printf x > "$(printf 'a\tb')"`, wire.ReasonExecOutputPath},
		{"too much output", `head -c 2048 /dev/zero > big`, wire.ReasonExecOutputTooLarge},
		{"too much output in total", `head -c 600 /dev/zero > a; head -c 600 /dev/zero > b`, wire.ReasonExecOutputTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := sh(t, c.script, func(cfg *Config) { cfg.MaxOutput = 1024 })
			_, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
			mustFail(t, err, c.reason)
		})
	}
}

// mustFail checks that err is a failure, permanent with reason or, when
// reason is "", transient.
func mustFail(t *testing.T, err error, reason string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("no error")
	case reason == "" && wire.IsPermanent(err):
		t.Fatalf("err = %v (reason %s), want a transient error", err, wire.ReasonOf(err))
	case reason != "" && (!wire.IsPermanent(err) || wire.ReasonOf(err) != reason):
		t.Fatalf("err = %v (permanent %v, reason %s), want permanent with reason %s",
			err, wire.IsPermanent(err), wire.ReasonOf(err), reason)
	}
}

func TestExecEngineTimeoutKillsTheGroup(t *testing.T) {
	t.Parallel()
	e := sh(t, `sleep 30 & sleep 30; wait`, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, wire.ErrPermanent) {
		t.Fatalf("err = %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s: the process group was not killed", d)
	}
}

func TestExecEngineEnvironmentHasNoSecrets(t *testing.T) {
	t.Setenv("REGEN_NATS_PASSWORD", "s3cret")
	e := sh(t, `env > env.txt`)
	arts, err := e.Regenerate(context.Background(), execChange("urn:x:A"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(arts[0].Content), "s3cret") {
		t.Fatal("regen's own environment leaked into the generator")
	}
}

func TestNewExecEngineRefusesBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := NewEngine(Config{}); err == nil {
		t.Fatal("empty command accepted")
	}
	if _, err := NewEngine(Config{Command: []string{"/no/such/generator"}}); err == nil {
		t.Fatal("missing command accepted")
	}
}
