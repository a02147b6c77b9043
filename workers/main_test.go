package workers

import (
	"bufio"
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBundle is one embedded server and a JetStream context for a test.
type testBundle struct {
	js  jetstream.JetStream
	ctx context.Context
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	s := testkit.StartServer(t)
	_, js := testkit.Connect(t, s)
	return &testBundle{js: js, ctx: testkit.Context(t, 60*time.Second)}
}

func (b *testBundle) kv(t *testing.T, bucket string) jetstream.KeyValue {
	t.Helper()
	kv, err := b.js.CreateKeyValue(b.ctx, jetstream.KeyValueConfig{Bucket: bucket})
	if err != nil {
		t.Fatalf("create kv %s: %v", bucket, err)
	}
	return kv
}

func (b *testBundle) model(t *testing.T, bucket string) *Model {
	t.Helper()
	return NewModel(b.kv(t, bucket))
}

// loadChanges reads a JSONL file of change events; Seq is the line number.
func loadChanges(t testing.TB, file string) []bus.Change {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bus.Change
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ev, err := bus.DecodeChangeEvent(sc.Bytes(), 0)
		if err != nil {
			t.Fatalf("%s line %d: %v", file, len(out)+1, err)
		}
		out = append(out, bus.Change{Event: ev, Seq: uint64(len(out) + 1), ExecutionID: "exec-test"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func nodeChange(seq uint64, typ bus.ChangeType, subject string, props map[string]any) bus.Change {
	return bus.Change{Seq: seq, ExecutionID: "x", Event: bus.ChangeEvent{
		ID: "ev-" + subject + "-" + string(typ), ChangeType: typ, Subject: subject, Properties: bus.MustProperties(props)}}
}

func edgeChange(seq uint64, typ bus.ChangeType, subject, pred, obj string) bus.Change {
	ch := nodeChange(seq, typ, subject, nil)
	ch.Event.Predicate, ch.Event.Object = &pred, &obj
	return ch
}
