package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

const testToken = "t0ken"

type testBundle struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	tel *bus.Telemetry
	c   *Console
	srv *httptest.Server
}

// setup provisions a deployment with priority levels on an embedded
// server and starts a console on it, served by an httptest server.
func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupWith(t, wire.Priorities, nil)
}

// setupWith provisions the given priority levels (none: one consumer)
// and lets mod change the console's configuration.
func setupWith(t *testing.T, levels []wire.Priority, mod func(*Config)) *testBundle {
	t.Helper()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{Levels: levels, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Conn: nc, JetStream: js, Token: testToken, Poll: 100 * time.Millisecond,
		Push: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Start(ctx)
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		_ = c.Stop(context.Background())
		srv.Close()
	})
	return &testBundle{nc: nc, js: js, tel: bus.NewTelemetry(nc, "r1"), c: c, srv: srv}
}

func (b *testBundle) publish(t *testing.T, data ...wire.TelemetryPayload) {
	t.Helper()
	for _, d := range data {
		if err := b.tel.Publish(wire.TelemetryEvent{Component: "orchestrator", Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.tel.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) get(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(b.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (b *testBundle) post(t *testing.T, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestTelemetryFillsTheSnapshotAndTheLists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publish(t,
		wire.RegenerationCompletedData{ExecutionID: "x1", Events: 10, Succeeded: 9, Failed: 1, DurationMS: 12},
		wire.DeploymentStartedData{EventID: "e1", ExecutionID: "x1", Path: "types/a.go", Node: "urn:a"},
		wire.DeploymentCompletedData{EventID: "e1", ExecutionID: "x1", Path: "types/a.go", Node: "urn:a", Template: "go-struct"},
		wire.DeploymentCompletedData{EventID: "e2", ExecutionID: "x1", Path: "classes/b.md", Node: "urn:b"},
		wire.ScalingAdviceData{RecommendedReplicas: 3, Pending: 100, Reason: "backlog_growing"},
		wire.CostReportData{Total: wire.CostTotals{Events: 10, CPUSeconds: 1},
			ByTemplate: map[string]wire.CostTotals{"go-struct": {Events: 10, CPUSeconds: 1, BytesOut: 2048}}})
	var snap Snapshot
	testkit.WaitFor(t, 20*time.Second, "the snapshot shows the telemetry", func() bool {
		b.get(t, "/api/snapshot", &snap)
		return snap.WindowEvents == 10 && snap.Advice != nil && snap.Cost != nil && len(snap.Levels) == 4
	})
	if *snap.SuccessRate != 0.9 || snap.Advice.RecommendedReplicas != 3 || !snap.TokenRequired ||
		snap.Cost.ByCPU["template"][0].Name != "go-struct" || snap.DLQ == nil {
		t.Fatalf("snapshot %+v", snap)
	}
	var deps []Deployment
	b.get(t, "/api/deployments?q=URN:A", &deps)
	if len(deps) != 1 || deps[0].EventID != "e1" || deps[0].Replica != "r1" {
		t.Fatalf("deployments matching urn:a: %+v", deps)
	}
	var st Story
	b.get(t, "/api/story?id=e1", &st)
	if len(st.Steps) != 3 || st.Steps[0].What != "delivered" || st.Steps[1].What != "rendered" ||
		st.Steps[2].What != "deployed" || st.Steps[2].ExecutionID != "x1" || st.Truncated {
		t.Fatalf("story of e1: %+v", st)
	}
}

// A story's steps carry their trace id, linked by Config.TraceURL.
func TestStoryStepsLinkToTheirTrace(t *testing.T) {
	t.Parallel()
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	b := setupWith(t, wire.Priorities, func(c *Config) { c.TraceURL = "http://jaeger:16686/trace/{trace_id}" })
	for _, d := range []wire.TelemetryPayload{
		wire.DeploymentStartedData{EventID: "t1", ExecutionID: "x1", Path: "a.md"},
		wire.DeploymentCompletedData{EventID: "t1", ExecutionID: "x1", Path: "a.md"},
	} {
		if err := b.tel.Publish(wire.TelemetryEvent{Component: "orchestrator", TraceID: tid, Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.tel.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var st Story
	testkit.WaitFor(t, 20*time.Second, "the story of t1", func() bool {
		b.get(t, "/api/story?id=t1", &st)
		return len(st.Steps) == 3
	})
	for _, s := range st.Steps {
		if s.TraceID != tid || s.TraceURL != "http://jaeger:16686/trace/"+tid {
			t.Errorf("step %s: trace %q, link %q", s.What, s.TraceID, s.TraceURL)
		}
	}
}

// A trace URL without {trace_id} is refused.
func TestConsoleRefusesABadTraceURL(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js := testkit.Connect(t, s)
	_, err := New(Config{Conn: nc, JetStream: js, TraceURL: "http://jaeger:16686/trace/"})
	if err == nil || !strings.Contains(err.Error(), "TraceURL") {
		t.Fatalf("New with a bad TraceURL: %v", err)
	}
}

func TestTheEventStreamSaysHelloThenTelemetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func(name string) string {
		for sc.Scan() {
			if sc.Text() == "event: "+name && sc.Scan() {
				return sc.Text()
			}
		}
		t.Fatalf("no %s event: %v", name, sc.Err())
		return ""
	}
	if !strings.Contains(next("hello"), `"snapshot"`) {
		t.Fatal("hello without a snapshot")
	}
	b.publish(t, wire.RateLimitedData{Limit: "engine", Action: "wait"})
	if data := next("telemetry"); !strings.Contains(data, `"rate_limited"`) {
		t.Fatalf("telemetry event %s", data)
	}
}

func TestPauseAndResumeNeedTheToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if code, body := b.post(t, "/api/levels/low/pause", "", "{}"); code != http.StatusForbidden || body["error"] == nil {
		t.Fatalf("pause without a token: %d %v", code, body)
	}
	if code, _ := b.post(t, "/api/levels/low/pause", "wrong", "{}"); code != http.StatusForbidden {
		t.Fatalf("pause with a wrong token: %d", code)
	}
	if code, body := b.post(t, "/api/levels/urgent/pause", testToken, "{}"); code != http.StatusBadRequest {
		t.Fatalf("pause of an unknown level: %d %v", code, body)
	}
	if code, body := b.post(t, "/api/levels/low/pause", testToken, `{"for":"1h"}`); code != http.StatusOK {
		t.Fatalf("pause: %d %v", code, body)
	}
	if paused, err := bus.LevelPaused(context.Background(), b.js, wire.ConsumerDefault, wire.PriorityLow); err != nil || !paused {
		t.Fatalf("low paused = %v (%v)", paused, err)
	}
	if code, body := b.post(t, "/api/levels/low/resume", testToken, ""); code != http.StatusOK {
		t.Fatalf("resume: %d %v", code, body)
	}
	seen := map[wire.TelemetryType]string{}
	testkit.WaitFor(t, 20*time.Second, "consumer_paused and consumer_resumed published", func() bool {
		for _, typ := range []wire.TelemetryType{wire.ConsumerPaused, wire.ConsumerResumed} {
			_ = testkit.ReadTelemetry(context.Background(), b.js, typ, func(r wire.TelemetryRecord) { seen[typ] = r.Component })
		}
		return seen[wire.ConsumerPaused] == ComponentDefault && seen[wire.ConsumerResumed] == ComponentDefault
	})
}

func TestDeadLettersListReplayAndPurge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
	msg.Data = []byte(`{"id":"d1","change_type":"node_added","subject":"urn:d"}`)
	msg.Header.Set(nats.MsgIdHdr, "d1")
	dm := &fakeMsg{msg: msg}
	if err := bus.NewDeadLetters(b.js).DeadLetter(context.Background(), dm, wire.ReasonBadJSON, nil); err != nil {
		t.Fatal(err)
	}
	var list []bus.DeadLetter
	b.get(t, "/api/dlq", &list)
	if len(list) != 1 || list[0].ID != "d1" {
		t.Fatalf("dlq list %+v", list)
	}
	if code, _ := b.post(t, "/api/dlq/replay", testToken, `{"id":"nope"}`); code != http.StatusNotFound {
		t.Fatalf("replay of an unknown id: %d", code)
	}
	if code, _ := b.post(t, "/api/dlq/replay", testToken, `{}`); code != http.StatusBadRequest {
		t.Fatalf("replay of nothing: %d", code)
	}
	if code, body := b.post(t, "/api/dlq/replay", testToken, `{"id":"d1"}`); code != http.StatusOK || body["replayed"] != 1.0 {
		t.Fatalf("replay: %d %v", code, body)
	}
	if code, _ := b.post(t, "/api/dlq/purge", "", `{}`); code != http.StatusForbidden {
		t.Fatalf("purge without a token: %d", code)
	}
	if code, _ := b.post(t, "/api/dlq/purge", testToken, `{}`); code != http.StatusOK {
		t.Fatalf("purge: %d", code)
	}
}

// fakeMsg is a change event that never went through a consumer.
type fakeMsg struct{ msg *nats.Msg }

func (f *fakeMsg) Data() []byte            { return f.msg.Data }
func (f *fakeMsg) Subject() string         { return f.msg.Subject }
func (f *fakeMsg) Headers() nats.Header    { return f.msg.Header }
func (f *fakeMsg) Seq() uint64             { return 1 }
func (f *fakeMsg) Deliveries() uint64      { return 1 }
func (f *fakeMsg) Ack(done func(error))    { done(nil) }
func (f *fakeMsg) Nak(time.Duration) error { return nil }
func (f *fakeMsg) Term(string) error       { return nil }
func (f *fakeMsg) InProgress() error       { return nil }

// pageBudget is the most the embedded page may weigh, uncompressed.
const pageBudget = 64 << 10

func TestThePageIsSmallAndServed(t *testing.T) {
	t.Parallel()
	files, err := pageAssets()
	if err != nil {
		t.Fatal(err)
	}
	plain, gz := 0, 0
	for _, a := range files {
		plain, gz = plain+len(a.plain), gz+len(a.gz)
	}
	if plain > pageBudget || len(files) != 3 {
		t.Fatalf("page: %d files, %d bytes: budget %d", len(files), plain, pageBudget)
	}
	t.Logf("page weight: %d bytes in %d files, %d gzipped", plain, len(files), gz)
	srv := httptest.NewServer(http.HandlerFunc(serveAsset))
	defer srv.Close()
	get := func(path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		tr := &http.Transport{DisableCompression: true}
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	if r := get("/", map[string]string{"Accept-Encoding": "gzip"}); r.Header.Get("Content-Encoding") != "gzip" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / with gzip: %v", r.Header)
	}
	r := get("/app.js", nil)
	if r.Header.Get("Content-Encoding") != "" || r.ContentLength != int64(len(files["app.js"].plain)) {
		t.Fatalf("GET /app.js without gzip: %v", r.Header)
	}
	if r := get("/app.js", map[string]string{"If-None-Match": r.Header.Get("ETag")}); r.StatusCode != http.StatusNotModified {
		t.Fatalf("GET /app.js with its ETag: %s", r.Status)
	}
	if r := get("/nope.js", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /nope.js: %s", r.Status)
	}
}

// running reports whether the console's loops run.
func (c *Console) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancel != nil
}

// An idle console stops reading; the next request seeds it again from the
// telemetry stream, counting nothing twice.
func TestAnIdleConsoleStopsAndReseeds(t *testing.T) {
	t.Parallel()
	b := setupWith(t, wire.Priorities, func(c *Config) { c.Idle = 300 * time.Millisecond; c.Poll = 50 * time.Millisecond })
	if b.c.running() {
		t.Fatal("loops running before any request")
	}
	b.publish(t, wire.RegenerationCompletedData{Events: 7, Succeeded: 7, DurationMS: 3})
	var snap Snapshot
	testkit.WaitFor(t, 20*time.Second, "the cycle counted", func() bool {
		b.get(t, "/api/snapshot", &snap)
		return snap.WindowEvents == 7
	})
	testkit.WaitFor(t, 20*time.Second, "the loops stopped when idle", func() bool { return !b.c.running() })
	if n := b.c.state.snapshot(time.Now()).WindowEvents; n != 0 {
		t.Fatalf("an idle console still holds %d events", n)
	}
	b.get(t, "/api/snapshot", &snap) // starts the loops again
	b.publish(t, wire.RegenerationCompletedData{Events: 1, Succeeded: 1, DurationMS: 3})
	testkit.WaitFor(t, 20*time.Second, "both cycles counted once after the restart", func() bool {
		b.get(t, "/api/snapshot", &snap) // keeps the console in use
		n := snap.WindowEvents
		if n > 8 {
			t.Fatalf("%d events: counted twice", n)
		}
		return n == 8
	})
}

// Without priority levels the backlog is the single consumer's.
func TestWithoutLevelsTheSingleConsumerIsTheBacklog(t *testing.T) {
	t.Parallel()
	b := setupWith(t, nil, nil)
	var snap Snapshot
	testkit.WaitFor(t, 20*time.Second, "the single consumer read", func() bool {
		b.get(t, "/api/snapshot", &snap)
		return len(snap.Levels) == 1
	})
	if l := snap.Levels[0]; l.Consumer != wire.ConsumerDefault || l.Priority != "" {
		t.Fatalf("levels %+v: want the single consumer", snap.Levels)
	}
	if code, _ := b.post(t, "/api/levels/low/pause", testToken, "{}"); code != http.StatusNotFound {
		t.Fatalf("pause of a level without level consumers: %d, want 404", code)
	}
}
