package benchkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/regen-dev/regen/bus/embedded"
	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
)

// env is the embedded server every scenario of a run shares, and the
// publishing connection that fills backlogs.
type env struct {
	dir string
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newEnv(ctx context.Context) (*env, error) {
	dir, err := os.MkdirTemp("", "regen-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench dir: %w", err)
	}
	e := &env{dir: dir}
	e.srv, err = embedded.Start(embedded.Config{Listen: "127.0.0.1:-1",
		StoreDir: filepath.Join(dir, "jetstream"), ServerName: "regen-bench"})
	if err != nil {
		e.close()
		return nil, err
	}
	if e.nc, e.js, err = e.connect(ctx, "regen-bench-publisher"); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// connect opens a connection of its own (each side of a comparison gets one).
func (e *env) connect(ctx context.Context, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := bus.Connect(ctx, bus.ConnConfig{URLs: e.url(), Name: name})
	if err != nil {
		return nil, nil, fmt.Errorf("bench connect: %w", err)
	}
	return nc, js, nil
}

func (e *env) url() string { return e.srv.ClientURL() }

func (e *env) close() {
	if e.nc != nil {
		e.nc.Close()
	}
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
	_ = os.RemoveAll(e.dir)
}

// provision recreates the changes stream and the level consumers (the
// layout regen runs by default), sized for maxAckPending unacked messages
// each: every drain starts on a fresh,
// empty stream, so no run inherits the deleted messages of the runs
// before it (the later of two otherwise equal drains was measurably
// slower).
func (e *env) provision(ctx context.Context, maxAckPending int) error {
	if err := e.js.DeleteStream(ctx, wire.ChangesStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("bench provision: %w", err)
	}
	err := bus.Provision(ctx, e.js, bus.ProvisionConfig{MaxAckPending: max(maxAckPending, bus.MaxAckPendingDefault),
		Levels: wire.Priorities})
	if err != nil {
		return fmt.Errorf("bench provision: %w", err)
	}
	return nil
}

// fill publishes n events of priority normal to REGEN_CHANGES and waits
// until all are stored.
func (e *env) fill(ctx context.Context, n int, gen func(i int) (wire.ChangeEvent, []byte)) error {
	return e.fillAt(ctx, wire.PriorityNormal, n, gen)
}

// fillAt publishes n events of priority p to REGEN_CHANGES and waits until
// all are stored.
func (e *env) fillAt(ctx context.Context, p wire.Priority, n int, gen func(i int) (wire.ChangeEvent, []byte)) error {
	const window = 4096
	for start := 0; start < n; start += window {
		for i := start; i < min(start+window, n); i++ {
			ev, data := gen(i)
			msg := nats.NewMsg(ev.NATSSubject(p))
			msg.Data = data
			msg.Header.Set(nats.MsgIdHdr, ev.ID)
			if _, err := e.js.PublishMsgAsync(msg); err != nil {
				return fmt.Errorf("bench fill: %w", err)
			}
		}
		select {
		case <-e.js.PublishAsyncComplete():
		case <-ctx.Done():
			return fmt.Errorf("bench fill: %w", ctx.Err())
		}
	}
	return e.checkStored(ctx, n)
}

// checkStored makes sure the stream holds exactly the n events just
// published (so that a drain of n means the backlog is gone).
func (e *env) checkStored(ctx context.Context, n int) error {
	s, err := e.js.Stream(ctx, wire.ChangesStream)
	if err != nil {
		return fmt.Errorf("bench fill: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("bench fill: %w", err)
	}
	if info.State.Msgs != uint64(n) {
		return fmt.Errorf("bench fill: stream holds %d messages, want %d", info.State.Msgs, n)
	}
	return nil
}

// pending is the changes of the given levels delivered to no replica or
// not yet acked (provision creates the level consumers).
func (e *env) pending(ctx context.Context, levels ...wire.Priority) (int, error) {
	total := 0
	for _, p := range levels {
		n, err := e.consumerPending(ctx, bus.LevelConsumer(wire.ConsumerDefault, p))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// consumerPending is the REGEN_CHANGES consumer name's messages not yet
// delivered or not yet acked.
func (e *env) consumerPending(ctx context.Context, name string) (int, error) {
	c, err := e.js.Consumer(ctx, wire.ChangesStream, name)
	if err != nil {
		return 0, fmt.Errorf("bench pending %s: %w", name, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("bench pending %s: %w", name, err)
	}
	return int(info.NumPending) + info.NumAckPending, nil
}
