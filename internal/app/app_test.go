package app

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

type bundle struct {
	srv *testkit.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg config.Config
	out string
}

// setup starts a real embedded nats-server and a replica configuration
// pointing at it, with the example templates and a dir deployer.
func setup(t *testing.T, mod func(*config.Config)) *bundle {
	t.Helper()
	b := &bundle{srv: testkit.StartServer(t), out: t.TempDir()}
	b.nc, b.js = testkit.Connect(t, b.srv)
	cfg := config.Default()
	cfg.NATS.URL = b.srv.ClientURL()
	cfg.Templates = "../../examples/templates"
	cfg.Deploy = []string{"dir:" + b.out}
	cfg.Orchestrator.FetchWait = 50 * time.Millisecond
	cfg.Orchestrator.MaxConcurrent = 8
	cfg.Orchestrator.BatchSize = 64
	cfg.Orchestrator.Replica = "test"
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b.cfg = cfg
	return b
}

// loadFOAF starts a replica, publishes FOAF's change events and waits
// until it processed every one; it returns the replica and how many
// events FOAF has.
func (b *bundle) loadFOAF(t *testing.T) (*Service, int) {
	t.Helper()
	svc := b.start(t)
	events := readEvents(t, "testdata/foaf.jsonl")
	publish(t, b.js, events)
	o := svc.Orchestrator()
	testkit.WaitFor(t, 60*time.Second, "all FOAF events", func() bool { return o.Stats().EventsProcessed >= int64(len(events)) })
	return svc, len(events)
}

func (b *bundle) start(t *testing.T) *Service {
	t.Helper()
	svc, err := Start(testkit.Context(t, 30*time.Second), b.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc
}

func readEvents(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// publish sends raw events with their id as Nats-Msg-Id and waits for acks.
func publish(t *testing.T, js jetstream.JetStream, events [][]byte) {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	for _, data := range events {
		var probe struct {
			ID         string `json:"id"`
			ChangeType string `json:"change_type"`
		}
		_ = json.Unmarshal(data, &probe)
		msg := nats.NewMsg("regen.changes.normal." + cmp.Or(probe.ChangeType, "node_added"))
		msg.Data = data
		if probe.ID != "" {
			msg.Header.Set(nats.MsgIdHdr, probe.ID)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// telemetryCounter counts telemetry events by type from a live subscriber.
type telemetryCounter struct {
	mu     sync.Mutex
	byType map[wire.TelemetryType]int
}

func countTelemetry(t *testing.T, nc *nats.Conn) *telemetryCounter {
	t.Helper()
	tc := &telemetryCounter{byType: map[wire.TelemetryType]int{}}
	sub, err := nc.Subscribe("telemetry.*", func(m *nats.Msg) {
		var ev wire.TelemetryRecord
		if json.Unmarshal(m.Data, &ev) == nil {
			tc.mu.Lock()
			tc.byType[ev.Type]++
			tc.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return tc
}

func (tc *telemetryCounter) get(typ wire.TelemetryType) int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.byType[typ]
}

func syntheticNodes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"id":"id-%d","change_type":"node_added","timestamp":"2026-01-01T00:00:00Z",`+
			`"subject":"urn:test:Node%d","properties":{"rdfs:label":"Node %d"}}`, i, i, i))
	}
	return out
}

func countFiles(t *testing.T, root string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == ".regen" {
			return filepath.SkipDir // previous versions
		}
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
