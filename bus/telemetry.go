package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// Telemetry publishes TelemetryEvents on telemetry.<type> with core NATS
// publish: it never blocks the caller on the network (the client buffers,
// also while reconnecting) and REGEN_TELEMETRY captures every event for
// late observers. Safe for concurrent use.
type Telemetry struct {
	nc      *nats.Conn
	replica string
}

// NewTelemetry returns a publisher that stamps every event with replica.
func NewTelemetry(nc *nats.Conn, replica string) *Telemetry {
	return &Telemetry{nc: nc, replica: replica}
}

// Publish sends one event; Type (from Data), Timestamp, ID and Replica
// are filled in when empty. Errors (a Type that is not its Data's, closed
// connection, full buffer) are returned, never fatal.
func (t *Telemetry) Publish(ev wire.TelemetryEvent) error {
	if ev.Type == "" && ev.Data != nil {
		ev.Type = ev.Data.TelemetryType()
	}
	if ev.ID == "" {
		ev.ID = uuid.NewString()
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = time.Now().UTC()
	}
	if ev.Replica == "" {
		ev.Replica = t.replica
	}
	data, err := wire.EncodeTelemetry(ev)
	if err != nil {
		return err
	}
	if err := t.nc.Publish(wire.TelemetrySubjectFor(ev.Type), data); err != nil {
		return fmt.Errorf("telemetry %s: %w", ev.Type, err)
	}
	return nil
}

// Flush waits until the server has received everything published so far.
// Without a deadline on ctx it waits at most 5 seconds.
func (t *Telemetry) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	if err := t.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("telemetry flush: %w", err)
	}
	return nil
}
