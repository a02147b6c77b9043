package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/testkit"
)

// regenBin is the regen binary built once for the process tests.
var regenBin string

func buildBinary() (string, func(), error) {
	dir, err := os.MkdirTemp("", "regen-bin")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "regen")
	if err := testkit.Build("github.com/regen-dev/regen/cmd/regen", bin); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// proc is one `regen run` child process with an embedded server.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *testkit.Buffer
	done   chan error
}

// logged reports whether the child has written a log line whose message
// contains msg.
func (p *proc) logged(msg string) bool {
	for line := range strings.Lines(p.stderr.String()) {
		var l struct{ Msg string }
		if json.Unmarshal([]byte(line), &l) == nil && strings.Contains(l.Msg, msg) {
			return true
		}
	}
	return false
}

// startRegen runs `regen run` on addr with data in dir and waits until its
// embedded server accepts clients.
func startRegen(t *testing.T, addr, dataDir, outDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"run", "--listen", addr, "--data-dir", dataDir, "--templates", "../../examples/templates",
		"--deploy", "dir:" + outDir, "--log-format", "json", "--fetch-wait", "100ms"}, extra...)
	p := spawn(t, "nats://"+addr, args)
	testkit.WaitFor(t, 30*time.Second, "regen to listen on "+addr, func() bool { return testkit.Listening(addr) })
	return p
}

// spawn starts regen with args; url is the NATS server it uses. The
// process is killed when the test ends, its log shown if the test failed.
func spawn(t *testing.T, url string, args []string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(regenBin, args...), url: url, stderr: &testkit.Buffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() || os.Getenv("REGEN_TEST_LOGS") != "" {
			t.Logf("regen stderr:\n%s", tail(p.stderr.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// wait returns the exit code once the process has exited.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // keep it for Cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(d):
		t.Fatalf("regen did not exit within %s", d)
		return -1
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func publishNodes(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	ctx := testkit.Context(t, 60*time.Second)
	testkit.WaitFor(t, 30*time.Second, "REGEN_CHANGES provisioned", func() bool {
		_, err := js.Stream(ctx, wire.ChangesStream)
		return err == nil
	})
	for i := range n {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = fmt.Appendf(nil, `{"id":"id-%d","change_type":"node_added","subject":"urn:proc:N%d","properties":{"rdfs:label":"N %d"}}`, i, i, i)
		msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("id-%d", i))
		if _, err := js.PublishMsgAsync(msg); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publish acks timed out")
	}
}

func countArtifacts(root string) int {
	n := 0
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == ".regen" {
			return filepath.SkipDir // previous versions
		}
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			n++
		}
		return nil
	})
	return n
}

// telemetry reads every stored telemetry event of the given type.
func telemetry(t *testing.T, js jetstream.JetStream, typ wire.TelemetryType) []wire.TelemetryRecord {
	t.Helper()
	var out []wire.TelemetryRecord
	if err := testkit.ReadTelemetry(testkit.Context(t, 30*time.Second), js, typ,
		func(ev wire.TelemetryRecord) { out = append(out, ev) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func pendingChanges(js jetstream.JetStream) uint64 {
	st, err := js.Stream(context.Background(), wire.ChangesStream)
	if err != nil {
		return 1
	}
	info, err := st.Info(context.Background())
	if err != nil {
		return 1
	}
	return info.State.Msgs
}
