package bus

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/regen-dev/regen/bus/embedded"
)

// An ack nobody confirms fails with ErrAckTimeout once the timeout has
// passed, and the sweeper ends once nothing is pending (goleak checks).
func TestUnconfirmedAckTimesOut(t *testing.T) {
	t.Parallel()
	nc := embeddedConn(t)
	sub, err := nc.SubscribeSync("silent.ack") // receives the ack, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	c, err := newConfirmer(nc, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	start := time.Now()
	c.ack("silent.ack", func(err error) { res <- err })
	select {
	case err := <-res:
		if !errors.Is(err, ErrAckTimeout) {
			t.Fatalf("err = %v, want ErrAckTimeout", err)
		}
		if waited := time.Since(start); waited < 100*time.Millisecond {
			t.Fatalf("failed after %v, before the timeout", waited)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the unconfirmed ack never failed")
	}
	if _, err := sub.NextMsg(time.Second); err != nil {
		t.Fatalf("the ack was not sent: %v", err)
	}
}

// An answer to a burst sent before a reconnect does not confirm it: acks
// may have died with the old connection.
func TestAnswerAfterReconnectIsUnconfirmed(t *testing.T) {
	t.Parallel()
	nc := embeddedConn(t)
	c, err := newConfirmer(nc, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 2)
	done := func(err error) { res <- err }
	// Registered with a reconnect count other than the connection's now:
	// as if it had reconnected since the burst was sent.
	token := c.register([]func(error){done, done}, nc.Stats().Reconnects+1)
	c.resolve(token, nil)
	for range 2 {
		if err := <-res; !errors.Is(err, ErrAckUnconfirmed) {
			t.Fatalf("err = %v, want ErrAckUnconfirmed", err)
		}
	}
}

// embeddedConn starts an embedded server (the testkit imports bus, so
// this package's own tests cannot use it) and connects to it.
func embeddedConn(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
