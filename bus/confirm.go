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
// server was away, or the consumer is gone). The message is then
// redelivered after AckWait, and the idempotent engine and deployer turn
// the redelivery into a skip.
var ErrAckTimeout = errors.New("ack not confirmed in time")

// ErrAckUnconfirmed reports acks whose confirmation cannot be trusted: the
// connection was re-established after they were sent, so some may have
// been lost with the old connection. They are handled like a timeout.
var ErrAckUnconfirmed = errors.New("ack unconfirmed: the connection was re-established")

// AckTimeoutDefault bounds the wait for an ack's confirmation.
const AckTimeoutDefault = 5 * time.Second

var ackBody = []byte("+ACK")

// confirmer sends acks for one consumer over one connection and confirms
// them, in bursts (group commit). Acks queue while a burst is being
// written; one goroutine at a time publishes what is queued: every ack of
// the burst, the last one with a reply subject on a private inbox (the
// protocol of nats.go's DoubleAck: the server answers an ack that has a
// reply with an empty message once it has processed it, and, for a
// replicated consumer, once the ack is replicated).
//
// The server hands a connection's acks for a consumer to one queue and
// processes them in order, so its answer to a burst's last ack confirms
// the whole burst. A reconnect between sending and the answer voids that
// (acks may have died with the old connection): the burst then fails with
// ErrAckUnconfirmed. A burst with no answer within the timeout fails with
// ErrAckTimeout. One subscription and one sweeper serve every burst: no
// goroutine, channel, context or timer per ack. Safe for concurrent use.
type confirmer struct {
	nc      *nats.Conn
	prefix  string // "<inbox>."; a confirmation arrives on prefix+token
	timeout time.Duration

	mu       sync.Mutex
	next     uint64
	pending  map[uint64]pendingBurst
	sweeping bool
	emptied  chan struct{} // pinged when pending empties, so the sweeper can end

	queue, spare []queuedAck // acks to publish; spare is the last burst's slice, reused
	publishing   bool        // a publisher goroutine is draining queue
}

type queuedAck struct {
	reply string
	done  func(error)
}

// pendingBurst is a published burst awaiting the answer to its last ack.
type pendingBurst struct {
	dones      []func(error)
	deadline   time.Time
	reconnects uint64 // the connection's reconnect count when it was sent
}

// newConfirmer subscribes to the confirmations: the subscription (and its
// delivery goroutine) lives as long as the connection.
func newConfirmer(nc *nats.Conn, timeout time.Duration) (*confirmer, error) {
	if timeout <= 0 {
		timeout = AckTimeoutDefault
	}
	c := &confirmer{nc: nc, prefix: nc.NewInbox() + ".", timeout: timeout,
		pending: make(map[uint64]pendingBurst), emptied: make(chan struct{}, 1)}
	if _, err := nc.Subscribe(c.prefix+"*", c.confirmed); err != nil {
		return nil, fmt.Errorf("ack confirmations: subscribe: %w", err)
	}
	return c, nil
}

// ack queues "+ACK" for the message's reply subject and calls done once:
// with nil when the server confirms, or with the error (not sent, refused,
// unconfirmed, timed out). done runs on the confirmer's goroutines and
// must not block.
func (c *confirmer) ack(reply string, done func(error)) {
	if c.enqueue(reply, done) {
		go c.publishQueued()
	}
}

// enqueue queues an ack. start says the caller must start a publisher.
func (c *confirmer) enqueue(reply string, done func(error)) (start bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, queuedAck{reply: reply, done: done})
	start = !c.publishing
	c.publishing = true
	return start
}

// publishQueued publishes queued acks, a burst at a time, until the queue
// is empty. The queue and the last burst's slice swap, so bursts reuse
// their memory.
func (c *confirmer) publishQueued() {
	var burst []queuedAck
	for {
		c.mu.Lock()
		if burst != nil {
			clear(burst) // drop the callbacks
			c.spare = burst[:0]
		}
		if len(c.queue) == 0 {
			c.publishing = false
			c.mu.Unlock()
			return
		}
		burst, c.queue, c.spare = c.queue, c.spare, nil
		c.mu.Unlock()
		c.publishBurst(burst)
	}
}

// publishBurst sends every ack of burst, the last one asking for the
// answer that confirms them all.
func (c *confirmer) publishBurst(burst []queuedAck) {
	dones := make([]func(error), len(burst))
	for i, a := range burst {
		dones[i] = a.done
	}
	token := c.register(dones, c.nc.Stats().Reconnects)
	last := len(burst) - 1
	for _, a := range burst[:last] {
		if err := c.nc.Publish(a.reply, ackBody); err != nil {
			c.resolve(token, fmt.Errorf("ack: %w", err))
			return
		}
	}
	inbox := c.prefix + strconv.FormatUint(token, 36)
	if err := c.nc.PublishRequest(burst[last].reply, inbox, ackBody); err != nil {
		c.resolve(token, fmt.Errorf("ack: %w", err))
	}
}

// register records a burst under a fresh token and starts the sweeper
// when it is not running.
func (c *confirmer) register(dones []func(error), reconnects uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	c.pending[c.next] = pendingBurst{dones: dones, deadline: time.Now().Add(c.timeout), reconnects: reconnects}
	if !c.sweeping {
		c.sweeping = true
		go c.sweep()
	}
	return c.next
}

// resolve ends the burst of token, if still pending, with err.
func (c *confirmer) resolve(token uint64, err error) {
	b, ok := c.take(token)
	if !ok {
		return
	}
	if err == nil && c.nc.Stats().Reconnects != b.reconnects {
		err = fmt.Errorf("ack: %w", ErrAckUnconfirmed)
	}
	for _, done := range b.dones {
		done(err)
	}
}

// take removes and returns the burst of token (false when it is gone:
// answered, or timed out).
func (c *confirmer) take(token uint64) (pendingBurst, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.pending[token]
	if !ok {
		return b, false
	}
	delete(c.pending, token)
	if len(c.pending) == 0 {
		select {
		case c.emptied <- struct{}{}:
		default:
		}
	}
	return b, true
}

// confirmed handles one answer: empty is success; a status (no responders:
// the consumer is gone) or a body is a refusal.
func (c *confirmer) confirmed(m *nats.Msg) {
	token, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, c.prefix), 36, 64)
	if err != nil {
		return
	}
	c.resolve(token, confirmationErr(m))
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

// sweep fails bursts past their deadline, every quarter of the timeout,
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
		for _, b := range expired {
			for _, done := range b.dones {
				done(fmt.Errorf("ack: %w after %s", ErrAckTimeout, c.timeout))
			}
		}
		if idle {
			return
		}
	}
}

// expire removes the bursts past their deadline and returns them; idle is
// true (and the sweeper marked stopped) when nothing is left pending.
func (c *confirmer) expire(now time.Time) (expired []pendingBurst, idle bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for token, b := range c.pending {
		if now.After(b.deadline) {
			delete(c.pending, token)
			expired = append(expired, b)
		}
	}
	if len(c.pending) == 0 {
		c.sweeping = false
		return expired, true
	}
	return expired, false
}
