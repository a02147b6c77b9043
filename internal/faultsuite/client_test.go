//go:build faults

package faultsuite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// connect returns a client that reconnects forever (servers restart under
// it); t.Cleanup closes it.
func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	_, js := testkit.Client(t, url)
	return js
}

func ctxFor(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// eventMsg is node_added for node i: one artifact, types/n<i>_<hash>.go.
// The events go round the four priority levels (i mod 4), so that every
// level consumer carries a quarter of every test's load.
func eventMsg(i int) *nats.Msg {
	msg := nats.NewMsg(wire.ChangeSubject(wire.Priorities[i%len(wire.Priorities)], wire.NodeAdded))
	id := fmt.Sprintf("ev-%d", i)
	msg.Data = fmt.Appendf(nil, `{"id":%q,"change_type":"node_added","subject":"http://example.org/fault/N%d",`+
		`"properties":{"rdfs:comment":"node %d"}}`, id, i, i)
	msg.Header.Set(nats.MsgIdHdr, id)
	return msg
}

// waitProvisioned waits until a replica created REGEN_CHANGES and its
// level consumers.
func waitProvisioned(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	testkit.WaitFor(t, 60*time.Second, "REGEN_CHANGES provisioned", func() bool { return levelInfos(js) != nil })
}

// publishRange publishes events [from, to) asynchronously in chunks,
// retrying a chunk's failures (the server may be restarting) until ctx
// ends.
func publishRange(ctx context.Context, js jetstream.JetStream, from, to int) error {
	return publishRangeOf(ctx, js, eventMsg, from, to)
}

// publishRangeOf is publishRange of the events msg(i).
func publishRangeOf(ctx context.Context, js jetstream.JetStream, msg func(int) *nats.Msg, from, to int) error {
	const chunk = 1000
	for lo := from; lo < to; lo += chunk {
		if err := publishChunk(ctx, js, msg, lo, min(lo+chunk, to)); err != nil {
			return err
		}
	}
	return nil
}

func publishChunk(ctx context.Context, js jetstream.JetStream, msg func(int) *nats.Msg, lo, hi int) error {
	for {
		futs := make([]jetstream.PubAckFuture, 0, hi-lo)
		for i := lo; i < hi; i++ {
			f, err := js.PublishMsgAsync(msg(i))
			if err != nil {
				break
			}
			futs = append(futs, f)
		}
		if len(futs) == hi-lo && allAcked(ctx, futs) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("publish %d..%d: %w", lo, hi, ctx.Err())
		}
	}
}

// allAcked waits for every future: true when all were acknowledged (the
// dedupe window makes the retry of a chunk safe).
func allAcked(ctx context.Context, futs []jetstream.PubAckFuture) bool {
	ok := true
	for _, f := range futs {
		select {
		case <-f.Ok():
		case <-f.Err():
			ok = false
		case <-ctx.Done():
			return false
		}
	}
	return ok
}

var artifactRE = regexp.MustCompile(`^n(\d+)_[0-9a-f]+\.go$`)

// deployedNodes is the set of node numbers with an artifact under root.
func deployedNodes(root string) map[int]bool {
	out := map[int]bool{}
	entries, _ := os.ReadDir(filepath.Join(root, "types"))
	for _, e := range entries {
		if m := artifactRE.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			out[n] = true
		}
	}
	return out
}

// missing lists up to 10 node numbers in [0, n) without an artifact.
func missing(nodes map[int]bool, n int) []int {
	var out []int
	for i := 0; i < n && len(out) < 10; i++ {
		if !nodes[i] {
			out = append(out, i)
		}
	}
	return out
}

// levelInfos are the infos of the level consumers, highest level first
// (nil on any error).
func levelInfos(js jetstream.JetStream) []*jetstream.ConsumerInfo {
	ctx, cancel := ctxFor(3 * time.Second)
	defer cancel()
	out := make([]*jetstream.ConsumerInfo, 0, len(wire.Priorities))
	for _, p := range wire.Priorities {
		c, err := js.Consumer(ctx, wire.ChangesStream, bus.LevelConsumer(wire.ConsumerDefault, p))
		if err != nil {
			return nil
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return nil
		}
		out = append(out, ci)
	}
	return out
}

// consumerInfo sums the level consumers' counts (pending, ack pending,
// redelivered, waiting, deliveries) into one info whose Config is the
// critical level's (nil on error).
func consumerInfo(js jetstream.JetStream) *jetstream.ConsumerInfo {
	infos := levelInfos(js)
	if infos == nil {
		return nil
	}
	sum := &jetstream.ConsumerInfo{Config: infos[0].Config}
	for _, ci := range infos {
		sum.NumPending += ci.NumPending
		sum.NumAckPending += ci.NumAckPending
		sum.NumRedelivered += ci.NumRedelivered
		sum.NumWaiting += ci.NumWaiting
		sum.Delivered.Consumer += ci.Delivered.Consumer
	}
	return sum
}

// streamInfo is a stream's info (nil on error).
func streamInfo(js jetstream.JetStream, name string) *jetstream.StreamInfo {
	ctx, cancel := ctxFor(3 * time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil
	}
	si, err := s.Info(ctx)
	if err != nil {
		return nil
	}
	return si
}

// drained reports whether REGEN_CHANGES is empty and nothing is in flight.
func drained(js jetstream.JetStream) bool {
	si, ci := streamInfo(js, wire.ChangesStream), consumerInfo(js)
	return si != nil && ci != nil && si.State.Msgs == 0 && ci.NumPending == 0 && ci.NumAckPending == 0
}

// readTelemetry calls fn for every stored telemetry event of type typ.
func readTelemetry(js jetstream.JetStream, typ wire.TelemetryType, fn func(wire.TelemetryRecord)) error {
	ctx, cancel := ctxFor(2 * time.Minute)
	defer cancel()
	return testkit.ReadTelemetry(ctx, js, typ, fn)
}

// countTelemetry counts the stored telemetry events of type typ.
func countTelemetry(t *testing.T, js jetstream.JetStream, typ wire.TelemetryType) int {
	t.Helper()
	n := 0
	if err := readTelemetry(js, typ, func(wire.TelemetryRecord) { n++ }); err != nil {
		t.Fatalf("read telemetry: %v", err)
	}
	return n
}
