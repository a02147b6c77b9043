package bus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrAckTimeout reports an ack the server did not confirm in time (the
// server was away, or the message was no longer pending). The message is
// then redelivered after AckWait, and the idempotent engine and deployer
// turn the redelivery into a skip.
var ErrAckTimeout = errors.New("ack not confirmed in time")

// DefaultAckTimeout bounds the wait for an ack's confirmation.
const DefaultAckTimeout = 5 * time.Second

var ackBody = []byte("+ACK")

// confirmer sends acks that ask for the server's confirmation and matches
// the confirmations to the acks, for a whole connection at once: one
// subscription on a private inbox receives every confirmation, a token in
// the reply subject says which ack it confirms, and one sweeper fails acks
// not confirmed within the timeout. This is the protocol of nats.go's
// DoubleAck (an ack published with a reply subject, answered by an empty
// message) without its per-ack request machinery: no goroutine, channel,
// context or timer per ack. Safe for concurrent use.
type confirmer struct {
	nc      *nats.Conn
	prefix  string // "<inbox>."; a confirmation arrives on prefix+token
	timeout time.Duration

	mu       sync.Mutex
	sub      *nats.Subscription
	next     uint64
	pending  map[uint64]pendingAck
	sweeping bool
	emptied  chan struct{} // pinged when pending empties, so the sweeper can end
}

type pendingAck struct {
	done     func(error)
	deadline time.Time
}

func newConfirmer(nc *nats.Conn, timeout time.Duration) *confirmer {
	if timeout <= 0 {
		timeout = DefaultAckTimeout
	}
	return &confirmer{nc: nc, prefix: nc.NewInbox() + ".", timeout: timeout,
		pending: make(map[uint64]pendingAck), emptied: make(chan struct{}, 1)}
}

// ack publishes "+ACK" to the message's reply subject and calls done once:
// with nil when the server confirms, or with the error (publish failed,
// refused, timed out). done runs on the confirmer's goroutines and must
// not block.
func (c *confirmer) ack(reply string, done func(error)) {
	token, err := c.register(done)
	if err != nil {
		done(err)
		return
	}
	inbox := c.prefix + strconv.FormatUint(token, 36)
	if err := c.nc.PublishRequest(reply, inbox, ackBody); err != nil {
		if d := c.take(token); d != nil {
			d(fmt.Errorf("ack: %w", err))
		}
	}
}

// register records done under a fresh token, subscribing on first use and
// starting the sweeper when it is not running.
func (c *confirmer) register(done func(error)) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sub == nil {
		sub, err := c.nc.Subscribe(c.prefix+"*", c.confirmed)
		if err != nil {
			return 0, fmt.Errorf("ack confirmations: subscribe: %w", err)
		}
		c.sub = sub
	}
	c.next++
	c.pending[c.next] = pendingAck{done: done, deadline: time.Now().Add(c.timeout)}
	if !c.sweeping {
		c.sweeping = true
		go c.sweep()
	}
	return c.next, nil
}

// take removes and returns the callback of token (nil when it is gone:
// confirmed, timed out, or never registered).
func (c *confirmer) take(token uint64) func(error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[token]
	if !ok {
		return nil
	}
	delete(c.pending, token)
	if len(c.pending) == 0 {
		select {
		case c.emptied <- struct{}{}:
		default:
		}
	}
	return p.done
}

// confirmed handles one confirmation: empty is success; a status (no
// responders: the consumer is gone) or a body is a refusal.
func (c *confirmer) confirmed(m *nats.Msg) {
	token, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, c.prefix), 36, 64)
	if err != nil {
		return
	}
	done := c.take(token)
	if done == nil {
		return // timed out already
	}
	done(confirmationErr(m))
}

func confirmationErr(m *nats.Msg) error {
	if status := m.Header.Get("Status"); status != "" {
		if status == "503" {
			return fmt.Errorf("ack: %w", nats.ErrNoResponders)
		}
		return fmt.Errorf("ack: server status %s %s", status, m.Header.Get("Description"))
	}
	if len(m.Data) > 0 {
		return fmt.Errorf("ack: server replied %q", m.Data)
	}
	return nil
}

// sweep fails acks past their deadline, every quarter of the timeout,
// and ends as soon as nothing is pending (register starts it again).
func (c *confirmer) sweep() {
	t := time.NewTicker(c.timeout / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.emptied:
		}
		expired, idle := c.expire(time.Now())
		for _, done := range expired {
			done(fmt.Errorf("ack: %w after %s", ErrAckTimeout, c.timeout))
		}
		if idle {
			return
		}
	}
}

// expire removes the acks past their deadline and returns their
// callbacks; idle is true (and the sweeper marked stopped) when nothing
// is left pending.
func (c *confirmer) expire(now time.Time) (expired []func(error), idle bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for token, p := range c.pending {
		if now.After(p.deadline) {
			delete(c.pending, token)
			expired = append(expired, p.done)
		}
	}
	if len(c.pending) == 0 {
		c.sweeping = false
		return expired, true
	}
	return expired, false
}
