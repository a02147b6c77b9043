package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// publishFile runs `regen publish FILE` against srv and returns its output.
func publishFile(t *testing.T, srv *testkit.Server, lines ...string) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := publishCmd(testkit.Context(t, 30*time.Second), []string{"--nats-url", srv.ClientURL(), file}, &out, &errOut)
	return out.String() + errOut.String(), err
}

func provisionedServer(t *testing.T) *testkit.Server {
	t.Helper()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	if err := bus.Provision(testkit.Context(t, 30*time.Second), js, bus.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestPublishValidatesEachLine(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	out, err := publishFile(t, srv,
		`{"id":"a","change_type":"node_added","subject":"urn:a"}`,
		`{"id":"b","change_type":"teleported","subject":"urn:b"}`,
		`{"id":"c","change_type":"edge_added","subject":"urn:c","predicate":"p","object":"urn:a"}`)
	if err == nil {
		t.Fatal("publish with an invalid line reported success")
	}
	for _, want := range []string{":2: invalid event: unknown_change_type", "published 2 events (1 invalid, 0 failed)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, js := testkit.Connect(t, srv)
	src, _ := bus.NewSource(context.Background(), js, bus.SourceConfig{})
	if n, _ := src.Pending(context.Background()); n != 2 {
		t.Fatalf("pending = %d, want the 2 valid events", n)
	}
}

func TestPublishSyntheticSetsMsgIDs(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	var out bytes.Buffer
	if err := publishCmd(context.Background(), []string{"--nats-url", srv.ClientURL(), "--synthetic", "50"}, &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	_, js := testkit.Connect(t, srv)
	st, _ := js.Stream(context.Background(), wire.ChangesStream)
	msg, err := st.GetMsg(context.Background(), 1)
	if err != nil || msg.Header.Get("Nats-Msg-Id") == "" {
		t.Fatalf("first message has no Nats-Msg-Id (%v)", err)
	}
	if !strings.Contains(out.String(), "published 50 events") {
		t.Fatalf("summary: %s", out.String())
	}
}

// runOnce runs `regen run --once` against srv and returns its exit code.
func runOnce(t *testing.T, srv *testkit.Server) int {
	t.Helper()
	cmd := exec.Command(regenBin, "run", "--once", "--nats-url", srv.ClientURL(), "--templates",
		"../../examples/templates", "--deploy", "dir:"+t.TempDir(), "--fetch-wait", "100ms", "--log-format", "json")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run --once: %v\n%s", err, out)
	}
	return 0
}

func TestRunOnceExitCodes(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	if _, err := publishFile(t, srv, `{"id":"ok1","change_type":"node_added","subject":"urn:ok"}`); err != nil {
		t.Fatal(err)
	}
	if code := runOnce(t, srv); code != 0 {
		t.Fatalf("clean backlog: exit %d, want 0", code)
	}
	_, js := testkit.Connect(t, srv)
	msg := []byte(`{"id":"bad","change_type":"node_added"}`) // no subject: rejected
	if _, err := js.Publish(context.Background(), "regen.changes.normal.node_added", msg); err != nil {
		t.Fatal(err)
	}
	if code := runOnce(t, srv); code != 3 {
		t.Fatalf("backlog with a rejected event: exit %d, want 3", code)
	}
}

func TestRunRefusesInvalidConfigNamingFields(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := realMain(context.Background(), []string{"run", "--max-concurrent", "0", "--target-cycle", "-1s"}, &out, &out)
	if code != 2 || !strings.Contains(out.String(), "max_concurrent") || !strings.Contains(out.String(), "target_cycle") {
		t.Fatalf("exit %d, output:\n%s", code, out.String())
	}
}

func TestConfigRedactsThePasswordInTheNATSURL(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := realMain(context.Background(), []string{"config", "--nats-url", "nats://u:secret@host:4222"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String()+errOut.String(), "secret") {
		t.Fatalf("regen config shows the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "url: nats://u:REDACTED@host:4222") {
		t.Fatalf("regen config lost the URL:\n%s", out.String())
	}
}

func TestRenderWritesTheFullBuildOfAFile(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr strings.Builder
	code := realMain(context.Background(), []string{"render", "--templates", "../../examples/templates", "--out", out,
		"../../examples/events/foaf.jsonl"}, &stdout, &stderr)
	if code != 0 || !strings.HasPrefix(stdout.String(), "rendered ") {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "types", "person_*.go")); len(matches) != 1 {
		t.Fatalf("person type: %v", matches)
	}
	code = realMain(context.Background(), []string{"render", "--out", out}, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("render with neither files nor --from-server: exit %d, want 2", code)
	}
}
