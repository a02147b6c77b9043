package bus_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// deadLetters reads every stored dead letter.
func deadLetters(t *testing.T, dlq *bus.DeadLetters) []bus.DeadLetter {
	t.Helper()
	var out []bus.DeadLetter
	for dl, err := range dlq.All(testkit.Context(t, 30*time.Second), 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

// fakeMsg is a change event that never went through a consumer.
type fakeMsg struct {
	seq  uint64
	data []byte
	h    nats.Header
}

func (f *fakeMsg) Data() []byte            { return f.data }
func (f *fakeMsg) Subject() string         { return wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded) }
func (f *fakeMsg) Headers() nats.Header    { return f.h }
func (f *fakeMsg) Seq() uint64             { return f.seq }
func (f *fakeMsg) Deliveries() uint64      { return 1 }
func (f *fakeMsg) Ack(done func(error))    { done(nil) }
func (f *fakeMsg) Nak(time.Duration) error { return nil }
func (f *fakeMsg) Term(string) error       { return nil }
func (f *fakeMsg) InProgress() error       { return nil }

func eventOf(id string, pad int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":"urn:%s","properties":{"pad":%q}}`,
		id, id, strings.Repeat("x", pad))
}

// withHeaders is a delivered message whose publisher set other headers.
type withHeaders struct {
	wire.Message
	h nats.Header
}

func (w withHeaders) Headers() nats.Header { return w.h }

// fetchN fetches n messages from src.
func fetchN(t *testing.T, src *bus.Source, n int) []wire.Message {
	t.Helper()
	ctx := testkit.Context(t, 30*time.Second)
	var got []wire.Message
	for len(got) < n && ctx.Err() == nil {
		msgs, err := src.Fetch(ctx, n-len(got), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	if len(got) != n {
		t.Fatalf("fetched %d of %d", len(got), n)
	}
	return got
}

// Headers that would steer JetStream (an expected stream, a TTL, a
// rollup, an expected last sequence) and a Nats-Msg-Id two events share
// cannot keep an event out of the DLQ; it is listed, and replayed with
// its own headers but JetStream's.
func TestDeadLetterSurvivesHostileHeaders(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	first := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
	first.Data = eventOf("h1", 0)
	first.Header = nats.Header{"Nats-Msg-Id": {"shared-id"}, "Nats-Expected-Stream": {wire.ChangesStream},
		"X-Trace": {"t1"}, "X-Multi": {"a", "b"}}
	second := nats.NewMsg(first.Subject)
	second.Data = eventOf("h2", 0)
	second.Header.Set(nats.MsgIdHdr, "h2")
	for _, m := range []*nats.Msg{first, second} {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	src, err := bus.NewSource(ctx, js, bus.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fetchN(t, src, 2)
	// The second one's publisher reused the first one's id, with headers
	// REGEN_CHANGES itself would have refused.
	msgs[1] = withHeaders{Message: msgs[1], h: nats.Header{"Nats-Msg-Id": {"shared-id"}, "Nats-TTL": {"1s"},
		"Nats-Rollup": {"all"}, "Nats-Expected-Last-Sequence": {"999"}, "Nats-Expected-Stream": {wire.ChangesStream},
		"X-Trace": {"t2"}}}
	dlq := bus.NewDeadLetters(js)
	for _, m := range msgs {
		if err := dlq.DeadLetter(ctx, m, wire.ReasonPermanent, errors.New("boom")); err != nil {
			t.Fatalf("dead-letter seq %d: %v", m.Seq(), err)
		}
		_ = m.Term(wire.ReasonPermanent)
	}
	list := deadLetters(t, dlq)
	if len(list) != 2 {
		t.Fatalf("%d dead letters, want both (same Nats-Msg-Id)", len(list))
	}
	st, _ := js.Stream(ctx, wire.DLQStream)
	for _, dl := range list {
		if dl.MsgID != "shared-id" || dl.OriginalHeaders.Get("Nats-Expected-Stream") != wire.ChangesStream {
			t.Errorf("seq %d: msg id %q, original headers %v", dl.Seq, dl.MsgID, dl.OriginalHeaders)
		}
		raw, err := st.GetMsg(ctx, dl.Seq)
		if err != nil {
			t.Fatal(err)
		}
		for k := range raw.Header {
			if strings.HasPrefix(k, "Nats-") && k != nats.MsgIdHdr {
				t.Errorf("stored dead letter seq %d carries %s", dl.Seq, k)
			}
		}
	}
	if list[1].OriginalHeaders.Get("Nats-TTL") != "1s" {
		t.Errorf("second original headers = %v", list[1].OriginalHeaders)
	}
	n, err := dlq.Replay(ctx, func(bus.DeadLetter) bool { return true })
	if err != nil || n != 2 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	for i, m := range fetchN(t, src, 2) {
		h := m.Headers()
		want := []string{"t1", "t2"}[i]
		if h.Get("X-Trace") != want || !strings.Contains(h.Get(nats.MsgIdHdr), "-replay-") {
			t.Errorf("replayed %d headers = %v", i, h)
		}
		if i == 0 && len(h.Values("X-Multi")) != 2 {
			t.Errorf("replayed X-Multi = %q", h.Values("X-Multi"))
		}
		for k := range h {
			if strings.HasPrefix(k, "Nats-") && k != nats.MsgIdHdr {
				t.Errorf("replayed %d carries %s", i, k)
			}
		}
		if err := bus.AckAndWait(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

// An oversize payload is stored truncated with its size and hash, listed
// as such, and refused by a replay (which goes on with the others).
func TestTruncatedDeadLetterIsListedNotReplayed(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	dlq := bus.NewDeadLetters(js, bus.WithMaxStored(1024))
	big := eventOf("big", 8000)
	sum := sha256.Sum256(big)
	if err := dlq.DeadLetter(ctx, &fakeMsg{seq: 1, data: big}, wire.ReasonOversize, errors.New("too big")); err != nil {
		t.Fatal(err)
	}
	if err := dlq.DeadLetter(ctx, &fakeMsg{seq: 2, data: eventOf("small", 10)}, wire.ReasonPermanent, nil); err != nil {
		t.Fatal(err)
	}
	list := deadLetters(t, dlq)
	if len(list) != 2 {
		t.Fatalf("%d dead letters", len(list))
	}
	dl := list[0]
	if !dl.Truncated || dl.Size != 1024 || dl.OriginalSize != int64(len(big)) ||
		dl.OriginalHash != "sha256:"+hex.EncodeToString(sum[:]) || dl.ID != "big" || dl.ChangeType != "node_added" {
		t.Fatalf("truncated dead letter = %+v", dl)
	}
	if list[1].Truncated {
		t.Fatalf("small dead letter truncated: %+v", list[1])
	}
	n, err := dlq.Replay(ctx, func(bus.DeadLetter) bool { return true })
	if n != 1 || !errors.Is(err, bus.ErrTruncated) || !strings.Contains(err.Error(), "seq 1") {
		t.Fatalf("replay: %d, %v; want the small one replayed and ErrTruncated for seq 1", n, err)
	}
	if left := deadLetters(t, dlq); len(left) != 1 || left[0].Seq != 1 {
		t.Fatalf("left %+v, want the truncated one", left)
	}
}

// At its byte or message limit the DLQ refuses new dead letters (the
// caller keeps the event), and a lowered limit deletes none it holds.
func TestDLQAtItsLimitRefusesNewDeadLetters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  bus.ProvisionConfig
		want string
	}{
		{"bytes", bus.ProvisionConfig{DLQMaxBytes: 4096}, "maximum bytes exceeded"},
		{"messages", bus.ProvisionConfig{DLQMaxMsgs: 2}, "maximum messages exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := testkit.StartServer(t)
			_, js := testkit.Connect(t, s)
			ctx := testkit.Context(t, 30*time.Second)
			if err := bus.Provision(ctx, js, tc.cfg); err != nil {
				t.Fatal(err)
			}
			dlq := bus.NewDeadLetters(js)
			var err error
			stored := uint64(0)
			for i := range 20 {
				if err = dlq.DeadLetter(ctx, &fakeMsg{seq: uint64(i + 1), data: eventOf("e", 900)}, "r", nil); err != nil {
					break
				}
				stored++
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("after %d dead letters: %v, want %q", stored, err, tc.want)
			}
			lowered := tc.cfg
			lowered.DLQMaxBytes, lowered.DLQMaxMsgs = 1024, 1
			if err := bus.Provision(ctx, js, lowered); err != nil {
				t.Fatal(err)
			}
			u, err := dlq.Usage(ctx)
			if err != nil || u.Msgs != stored || u.MaxBytes != 1024 {
				t.Fatalf("after lowering: %+v (%v), want %d kept", u, err, stored)
			}
		})
	}
}

// All reads from a sequence on, skips deleted dead letters and stops at
// the last one stored when it began.
func TestAllPagesFromASequence(t *testing.T) {
	t.Parallel()
	_, _, js := provisioned(t)
	ctx := testkit.Context(t, 30*time.Second)
	dlq := bus.NewDeadLetters(js)
	for i := range 5 {
		if err := dlq.DeadLetter(ctx, &fakeMsg{seq: uint64(i + 1), data: eventOf(fmt.Sprint("p", i), 0)}, "r", nil); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := js.Stream(ctx, wire.DLQStream)
	if err := st.DeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	seqs := func(from uint64, limit int) []uint64 {
		var out []uint64
		for dl, err := range dlq.All(ctx, from) {
			if err != nil {
				t.Fatal(err)
			}
			if len(out) == limit {
				break
			}
			out = append(out, dl.Seq)
			if dl.Seq == 4 {
				// Stored after All began: not yielded.
				_ = dlq.DeadLetter(ctx, &fakeMsg{seq: 99, data: eventOf("late", 0)}, "r", nil)
			}
		}
		return out
	}
	if got := fmt.Sprint(seqs(0, 2)); got != "[1 3]" {
		t.Fatalf("first page = %s", got)
	}
	if got := fmt.Sprint(seqs(3, 10)); got != "[3 4 5]" {
		t.Fatalf("from 3 = %s, want [3 4 5]", got)
	}
	if got := fmt.Sprint(seqs(7, 10)); got != "[]" {
		t.Fatalf("past the end = %s", got)
	}
}

// Provision bounds REGEN_TELEMETRY (bytes and age, discard old) and
// REGEN_DLQ (discard new), and updates streams created without limits.
func TestProvisionBoundsTelemetryAndDLQ(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	_, js := testkit.Connect(t, s)
	ctx := testkit.Context(t, 30*time.Second)
	for _, sc := range []jetstream.StreamConfig{
		{Name: wire.TelemetryStream, Subjects: []string{wire.TelemetrySubject}, MaxAge: time.Hour},
		{Name: wire.DLQStream, Subjects: []string{wire.DLQSubjects}},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	check := func(cfg bus.ProvisionConfig, tel, dlq jetstream.StreamConfig) {
		t.Helper()
		if err := bus.Provision(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
		for _, want := range []jetstream.StreamConfig{tel, dlq} {
			st, err := js.Stream(ctx, want.Name)
			if err != nil {
				t.Fatal(err)
			}
			got := st.CachedInfo().Config
			if got.MaxBytes != want.MaxBytes || got.MaxMsgs != want.MaxMsgs || got.MaxAge != want.MaxAge ||
				got.Discard != want.Discard {
				t.Errorf("%s: max_bytes %d max_msgs %d max_age %s discard %s; want %d %d %s %s", want.Name,
					got.MaxBytes, got.MaxMsgs, got.MaxAge, got.Discard, want.MaxBytes, want.MaxMsgs, want.MaxAge, want.Discard)
			}
		}
	}
	check(bus.ProvisionConfig{},
		jetstream.StreamConfig{Name: wire.TelemetryStream, MaxBytes: 256 << 20, MaxMsgs: -1, MaxAge: 24 * time.Hour, Discard: jetstream.DiscardOld},
		jetstream.StreamConfig{Name: wire.DLQStream, MaxBytes: 1 << 30, MaxMsgs: -1, Discard: jetstream.DiscardNew})
	check(bus.ProvisionConfig{TelemetryMaxBytes: 1 << 20, TelemetryMaxAge: time.Hour, DLQMaxBytes: 2 << 20, DLQMaxMsgs: 100, DLQMaxAge: 48 * time.Hour},
		jetstream.StreamConfig{Name: wire.TelemetryStream, MaxBytes: 1 << 20, MaxMsgs: -1, MaxAge: time.Hour, Discard: jetstream.DiscardOld},
		jetstream.StreamConfig{Name: wire.DLQStream, MaxBytes: 2 << 20, MaxMsgs: 100, MaxAge: 48 * time.Hour, Discard: jetstream.DiscardNew})
}
