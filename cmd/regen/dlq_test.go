package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestDLQListReplayPurge(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	startReplica(t, srv, "dlq-test")
	_, js := testkit.Connect(t, srv)
	bad := []byte(`{"id":"dead-1","change_type":"node_added","subject":""}`)
	if _, err := js.Publish(context.Background(), "regen.changes.normal.node_added", bad); err != nil {
		t.Fatal(err)
	}
	dlq := bus.NewDeadLetters(js)
	testkit.WaitFor(t, 30*time.Second, "the dead letter", func() bool { return dlqCount(dlq) == 1 })
	url := []string{"--nats-url", srv.ClientURL()}
	var out bytes.Buffer
	if err := dlqCmd(context.Background(), append([]string{"list", "--json"}, url...), &out, &out); err != nil {
		t.Fatal(err)
	}
	var dl bus.DeadLetter
	if err := json.Unmarshal(out.Bytes(), &dl); err != nil || dl.ID != "dead-1" || dl.Reason != wire.ReasonMissingSubject {
		t.Fatalf("list --json = %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := dlqCmd(context.Background(), append([]string{"list"}, url...), &out, &out); err != nil ||
		!strings.Contains(out.String(), wire.ReasonMissingSubject) || !strings.HasPrefix(out.String(), "SEQ") {
		t.Fatalf("list table: %q (%v)", out.String(), err)
	}
	if err := dlqCmd(context.Background(), append([]string{"replay"}, url...), &out, &out); err == nil {
		t.Fatal("replay without --id or --all accepted")
	}
	out.Reset()
	if err := dlqCmd(context.Background(), append([]string{"replay", "--id", "dead-1"}, url...), &out, &out); err != nil ||
		!strings.Contains(out.String(), "replayed 1") {
		t.Fatalf("replay: %q (%v)", out.String(), err)
	}
	// Still invalid: the replica dead-letters it again, then purge empties the DLQ.
	testkit.WaitFor(t, 30*time.Second, "the replayed event back in the DLQ", func() bool { return dlqCount(dlq) == 1 })
	if err := dlqCmd(context.Background(), append([]string{"purge"}, url...), &out, &out); err != nil {
		t.Fatal(err)
	}
	if n := dlqCount(dlq); n != 0 {
		t.Fatalf("purge left %d", n)
	}
}

// dlqCount is how many dead letters are stored (-1 when unknown).
func dlqCount(dlq *bus.DeadLetters) int {
	u, err := dlq.Usage(context.Background())
	if err != nil {
		return -1
	}
	return int(u.Msgs)
}

// storedEvent is a change event dead-lettered without a consumer.
type storedEvent struct {
	seq  uint64
	data []byte
}

func (s storedEvent) Data() []byte    { return s.data }
func (s storedEvent) Subject() string { return "regen.changes.normal.node_added" }
func (s storedEvent) Headers() nats.Header {
	return nats.Header{"Nats-Msg-Id": {fmt.Sprint("msg-", s.seq)}}
}
func (s storedEvent) Seq() uint64             { return s.seq }
func (s storedEvent) Deliveries() uint64      { return 1 }
func (s storedEvent) Ack(done func(error))    { done(nil) }
func (s storedEvent) Nak(time.Duration) error { return nil }
func (s storedEvent) Term(string) error       { return nil }
func (s storedEvent) InProgress() error       { return nil }

// `dlq list` pages with --limit and --since-seq (the next page's
// sequence on stderr), shows a truncated dead letter as such, and
// `dlq replay` refuses one.
func TestDLQListPagesAndShowsTruncation(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	_, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	dlq := bus.NewDeadLetters(js, bus.WithMaxStored(512))
	for i := range 5 {
		pad := 0
		if i == 4 {
			pad = 4000
		}
		data := fmt.Appendf(nil, `{"id":"d%d","change_type":"node_added","subject":"urn:d","properties":{"pad":%q}}`,
			i+1, strings.Repeat("x", pad))
		if err := dlq.DeadLetter(ctx, storedEvent{seq: uint64(i + 1), data: data}, "bad_json", nil); err != nil {
			t.Fatal(err)
		}
	}
	url := []string{"--nats-url", srv.ClientURL()}
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := dlqCmd(ctx, append(append([]string{"list"}, args...), url...), &out, &errOut); err != nil {
			t.Fatalf("dlq list %v: %v", args, err)
		}
		return out.String(), errOut.String()
	}
	out, hint := run("--limit", "2")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[2], "d2") ||
		!strings.Contains(hint, "--since-seq 3") {
		t.Fatalf("first page:\n%s\nstderr: %s", out, hint)
	}
	out, hint = run("--json", "--since-seq", "3", "--limit", "2")
	var seqs []uint64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var dl bus.DeadLetter
		if err := json.Unmarshal([]byte(line), &dl); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		seqs = append(seqs, dl.Seq)
	}
	if fmt.Sprint(seqs) != "[3 4]" || !strings.Contains(hint, "--since-seq 5") {
		t.Fatalf("second page %v, stderr %q", seqs, hint)
	}
	out, hint = run("--json", "--since-seq", "5")
	var last bus.DeadLetter
	if err := json.Unmarshal([]byte(out), &last); err != nil || !last.Truncated || last.Size != 512 ||
		last.OriginalHash == "" || last.MsgID != "msg-5" || hint != "" {
		t.Fatalf("last page %q (%v), stderr %q", out, err, hint)
	}
	if out, _ = run("--since-seq", "5"); !strings.Contains(out, "(truncated to 512)") {
		t.Fatalf("table does not show the truncation:\n%s", out)
	}
	var errOut bytes.Buffer
	err := dlqCmd(ctx, append([]string{"replay", "--id", "d5"}, url...), &errOut, &errOut)
	if !errors.Is(err, bus.ErrTruncated) || !strings.Contains(err.Error(), "cannot be replayed") {
		t.Fatalf("replay of a truncated dead letter: %v", err)
	}
	if n := dlqCount(dlq); n != 5 {
		t.Fatalf("%d dead letters left, want all 5", n)
	}
}
