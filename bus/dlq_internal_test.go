package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/regen-dev/regen/bus/wire"
)

func stored(seq uint64, data string, h nats.Header) *storedMsg {
	return &storedMsg{deliveries: 3, raw: &jetstream.RawStreamMsg{
		Subject: "regen.changes.normal.node_added", Sequence: seq, Header: h, Data: []byte(data)}}
}

func hostileHeaders() nats.Header {
	return nats.Header{
		"Nats-Msg-Id":                 {"ev-1"},
		"Nats-Expected-Stream":        {"REGEN_CHANGES"},
		"Nats-Expected-Last-Sequence": {"999"},
		"Nats-TTL":                    {"1s"},
		"Nats-Rollup":                 {"all"},
		"Regen-Reason":                {"forged"},
		"X-Trace":                     {"a", "b"},
		"Bad/Name":                    {"unpublishable"},
	}
}

// Every original header is renamed, so none can steer JetStream; a name
// nats.go would refuse to publish is dropped and counted.
func TestCopyOriginalHeadersRenamesEveryHeader(t *testing.T) {
	t.Parallel()
	dst := nats.Header{}
	dropped := copyOriginalHeaders(dst, hostileHeaders(), maxOriginalHeaderBytes)
	if dropped != 1 {
		t.Fatalf("dropped = %d, want 1 (Bad/Name)", dropped)
	}
	for k := range dst {
		if !strings.HasPrefix(k, HeaderOriginalPrefix) {
			t.Errorf("header %q not renamed", k)
		}
	}
	if got := dst.Values(HeaderOriginalPrefix + "X-Trace"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("X-Trace = %q, want both values", got)
	}
	if dst.Get(HeaderOriginalPrefix+"Nats-Expected-Stream") != "REGEN_CHANGES" ||
		dst.Get(HeaderOriginalPrefix+"Regen-Reason") != "forged" {
		t.Errorf("renamed headers = %v", dst)
	}
}

// The budget keeps Nats-Msg-Id first, then as many others as fit.
func TestCopyOriginalHeadersIsBounded(t *testing.T) {
	t.Parallel()
	src := nats.Header{"Nats-Msg-Id": {"ev-1"}, "A-Big": {strings.Repeat("x", 100)}}
	dst := nats.Header{}
	budget := len(HeaderOriginalPrefix+"Nats-Msg-Id") + len("ev-1") + 4
	if dropped := copyOriginalHeaders(dst, src, budget); dropped != 1 {
		t.Fatalf("dropped = %d, want 1", dropped)
	}
	if len(dst) != 1 || dst.Get(HeaderOriginalPrefix+"Nats-Msg-Id") != "ev-1" {
		t.Fatalf("kept %v, want only the message id", dst)
	}
}

// A replay restores the original names and leaves out every Nats-*
// header, in any case; a dead letter from before the renaming (original
// headers stored as they were) restores its non-regen, non-JetStream ones.
func TestReplayHeadersDropJetStreamControlHeaders(t *testing.T) {
	t.Parallel()
	h := nats.Header{"Nats-Msg-Id": {"dlq-1-abc"}, HeaderReason: {"bad_json"}, "X-Legacy": {"old"}}
	copyOriginalHeaders(h, hostileHeaders(), maxOriginalHeaderBytes)
	h.Set(HeaderOriginalPrefix+"nats-ttl", "5s")
	orig := originalHeaders(h)
	if orig.Get("Nats-Msg-Id") != "ev-1" || orig.Get("Nats-TTL") != "1s" || orig.Get("X-Legacy") != "old" ||
		orig.Get("Regen-Reason") != "forged" {
		t.Fatalf("original headers = %v", orig)
	}
	replay := replayHeaders(orig)
	want := []string{"Regen-Reason", "X-Legacy", "X-Trace"}
	got := make([]string, 0, len(replay))
	for k := range replay {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || !slices.Equal(replay.Values("X-Trace"), []string{"a", "b"}) {
		t.Fatalf("replay headers = %v, want %v", replay, want)
	}
}

func TestDeadLetterMsgCarriesOnlyRegenHeaders(t *testing.T) {
	t.Parallel()
	msg := deadLetterMsg(stored(7, `{"id":"ev-1"}`, hostileHeaders()), "bad_json", errors.New("a\nb"), 1<<20, 1<<20, time.Now())
	for k := range msg.Header {
		if k != nats.MsgIdHdr && !strings.HasPrefix(k, "Regen-") {
			t.Errorf("dead letter has header %q", k)
		}
	}
	if !strings.HasPrefix(msg.Header.Get(nats.MsgIdHdr), "dlq-7-") || msg.Header.Get(HeaderError) != "a b" ||
		msg.Header.Get(HeaderOriginalHeadersDropped) != "1" || msg.Header.Get(HeaderTruncated) != "" {
		t.Fatalf("headers = %v", msg.Header)
	}
	again := deadLetterMsg(stored(7, `{"id":"ev-1"}`, nil), "bad_json", nil, 1<<20, 1<<20, time.Now())
	other := deadLetterMsg(stored(7, `{"id":"ev-2"}`, hostileHeaders()), "bad_json", nil, 1<<20, 1<<20, time.Now())
	if id := msg.Header.Get(nats.MsgIdHdr); again.Header.Get(nats.MsgIdHdr) != id || other.Header.Get(nats.MsgIdHdr) == id {
		t.Fatalf("dedupe ids: %s, same message %s, other payload %s", id,
			again.Header.Get(nats.MsgIdHdr), other.Header.Get(nats.MsgIdHdr))
	}
}

// A payload over the store limit is stored truncated, with the original
// size and hash; and the whole dead letter always fits the server's limit.
func TestDeadLetterMsgTruncatesOversizePayloads(t *testing.T) {
	t.Parallel()
	data := `{"id":"big"}` + strings.Repeat(" ", 10000)
	sum := sha256.Sum256([]byte(data))
	for _, tc := range []struct {
		name                string
		maxStored, serverMx int
	}{{"store limit", 1024, 1 << 20}, {"server limit", 1 << 20, 4096}} {
		msg := deadLetterMsg(stored(1, data, hostileHeaders()), "oversize", nil, tc.maxStored, int64(tc.serverMx), time.Now())
		if msg.Header.Get(HeaderTruncated) != "true" || msg.Header.Get(HeaderOriginalSize) != "10012" ||
			msg.Header.Get(HeaderOriginalHash) != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("%s: headers = %v", tc.name, msg.Header)
		}
		if len(msg.Data) > tc.maxStored || headerBytes(msg.Header)+len(msg.Data) > tc.serverMx {
			t.Errorf("%s: %d payload + %d header bytes", tc.name, len(msg.Data), headerBytes(msg.Header))
		}
		if string(msg.Data) != data[:len(msg.Data)] {
			t.Errorf("%s: stored payload is not a prefix", tc.name)
		}
	}
}

func TestProbeEventReadsABoundedPrefix(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2*probeLimit)
	for _, tc := range []struct {
		name, data string
		want       eventProbe
	}{
		{"whole", `{"id":"a","change_type":"node_added","subject":"urn:a","properties":{"k":[1,{"x":2}]}}`,
			eventProbe{"a", "node_added", "urn:a"}},
		{"truncated", `{"subject":"urn:b","id":"b","properties":{"blob":"` + long,
			eventProbe{ID: "b", Subject: "urn:b"}},
		{"id beyond the prefix", `{"properties":{"blob":"` + long + `"},"id":"c"}`, eventProbe{}},
		{"not a string", `{"id":42,"change_type":"node_added"}`, eventProbe{ChangeType: "node_added"}},
		{"not an object", `["id","a"]`, eventProbe{}},
		{"not JSON", "\x00\x01", eventProbe{}},
	} {
		if got := probeEvent([]byte(tc.data)); got != tc.want {
			t.Errorf("%s: probe = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestDLQUsageRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		u    DLQUsage
		want float64
	}{
		{DLQUsage{Msgs: 5, Bytes: 100}, 0},
		{DLQUsage{Msgs: 5, Bytes: 100, MaxBytes: 200, MaxMsgs: -1}, 0.5},
		{DLQUsage{Msgs: 9, Bytes: 100, MaxBytes: 200, MaxMsgs: 10}, 0.9},
	} {
		if got := tc.u.Ratio(); got != tc.want {
			t.Errorf("%+v: ratio %g, want %g", tc.u, got, tc.want)
		}
	}
	ev := DLQNearLimitEvent(DLQUsage{Msgs: 9, Bytes: 100, MaxBytes: 200, MaxMsgs: 10}, 0.8)
	d, _ := ev.Data.(wire.DLQNearLimitData)
	if ev.Type != "performance_alert" || d.Rule != RuleDLQNearLimit || d.Ratio != 0.9 ||
		d.MaxBytes != 200 || d.AlertRatio != 0.8 {
		t.Fatalf("event = %+v", ev)
	}
}

func TestDLQNearLimitWireForm(t *testing.T) {
	t.Parallel()
	ev := DLQNearLimitEvent(DLQUsage{Msgs: 9, Bytes: 100, MaxBytes: 200, MaxMsgs: -1}, 0.4)
	got, err := json.Marshal(ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alert_ratio":0.4,"bytes":100,"max_bytes":200,"max_msgs":0,"msgs":9,"ratio":0.5,` +
		`"rule":"dlq_near_limit","severity":"warning","stream":"REGEN_DLQ"}`
	if string(got) != want {
		t.Fatalf("wire form\n%s\nwant\n%s", got, want)
	}
}

// A dead letter refused for its NATS subject is replayed where its body
// belongs; any other goes back to its original subject.
func TestReplaySubjectMendsOnlyTheSubjectFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		reason, original, changeType, want string
	}{
		{wire.ReasonSubjectMismatch, "regen.changes.high.node_removed", "node_added", "regen.changes.high.node_added"},
		{wire.ReasonBadNATSSubject, "regen.changes.urgent.node_added", "node_added", "regen.changes.normal.node_added"},
		{wire.ReasonBadNATSSubject, "regen.changes.urgent", "nonsense", "regen.changes.urgent"},
		{wire.ReasonMaxDeliveries, "regen.changes.low.edge_added", "node_added", "regen.changes.low.edge_added"},
	} {
		dl := DeadLetter{Reason: tc.reason, OriginalSubject: tc.original, ChangeType: tc.changeType}
		if got := replaySubject(dl); got != tc.want {
			t.Errorf("replaySubject(%s, %s) = %s, want %s", tc.reason, tc.original, got, tc.want)
		}
	}
}
