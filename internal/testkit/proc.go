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
// REGEN_TELEMETRY, oldest first, until none is left or ctx ends. It stops
// at the message that says none is pending, or when a fetch waited a
// second for nothing: a fetch that does not wait can come back empty
// from a replicated stream with messages left.
func ReadTelemetry(ctx context.Context, js jetstream.JetStream, typ wire.TelemetryType, fn func(wire.TelemetryRecord)) error {
	c, err := js.OrderedConsumer(ctx, wire.TelemetryStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{wire.TelemetrySubjectFor(typ)}})
	if err != nil {
		return fmt.Errorf("telemetry consumer: %w", err)
	}
	for ctx.Err() == nil {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("telemetry fetch: %w", err)
		}
		if n, pending := readBatch(batch, fn); n == 0 || pending == 0 {
			return nil
		}
	}
	return errors.Join(errors.New("telemetry read timed out"), ctx.Err())
}

// readBatch calls fn for each telemetry record of batch and returns how
// many messages it held and how many the last one said were pending
// (1 when it could not say).
func readBatch(batch jetstream.MessageBatch, fn func(wire.TelemetryRecord)) (n int, pending uint64) {
	pending = 1
	for m := range batch.Messages() {
		n++
		if md, err := m.Metadata(); err == nil {
			pending = md.NumPending
		}
		var ev wire.TelemetryRecord
		if json.Unmarshal(m.Data(), &ev) == nil {
			fn(ev)
		}
	}
	return n, pending
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
