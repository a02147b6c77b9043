package testkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Build compiles the Go package pkg into out (go build -o out pkg); the
// process-level tests build the regen and nats-server binaries with it.
func Build(pkg, out string) error {
	b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Listening reports whether addr accepts TCP connections.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Client connects to url and reconnects forever (the servers of process
// tests die and come back), with opts added (credentials); t.Cleanup
// closes it.
func Client(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	opts = append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// ReadTelemetry calls fn for every telemetry event of type typ stored in
// REGEN_TELEMETRY when it is called, oldest first, or until ctx ends. It
// reads up to the last message of the type at the start (a fetch that
// does not wait can come back empty from a replicated stream with
// messages left, so an empty fetch is no end).
func ReadTelemetry(ctx context.Context, js jetstream.JetStream, typ wire.TelemetryType, fn func(wire.TelemetryRecord)) error {
	subject := wire.TelemetrySubjectFor(typ)
	st, err := js.Stream(ctx, wire.TelemetryStream)
	if err != nil {
		return fmt.Errorf("telemetry stream: %w", err)
	}
	last, err := st.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("last %s: %w", typ, err)
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return fmt.Errorf("telemetry consumer: %w", err)
	}
	for ctx.Err() == nil {
		batch, err := c.FetchNoWait(1000)
		if err != nil {
			return fmt.Errorf("telemetry fetch: %w", err)
		}
		if readBatch(batch, fn) >= last.Sequence {
			return nil
		}
	}
	return errors.Join(errors.New("telemetry read timed out"), ctx.Err())
}

// readBatch calls fn for each telemetry record of batch and returns the
// stream sequence of its last message (0 for none).
func readBatch(batch jetstream.MessageBatch, fn func(wire.TelemetryRecord)) (seq uint64) {
	for m := range batch.Messages() {
		if md, err := m.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		var ev wire.TelemetryRecord
		if json.Unmarshal(m.Data(), &ev) == nil {
			fn(ev)
		}
	}
	return seq
}

// DeploysPerEvent counts the stored deployment_completed events per event
// id: the duplicate check of the process tests (telemetry a killed
// replica had not flushed is lost, so it can only undercount).
func DeploysPerEvent(t testing.TB, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	per := map[string]int{}
	err := ReadTelemetry(ctx, js, wire.DeploymentCompleted, func(ev wire.TelemetryRecord) {
		id, _ := ev.Data["event_id"].(string)
		per[id]++
	})
	if err != nil {
		t.Fatalf("read telemetry: %v", err)
	}
	return per
}
