package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsMsg adapts a jetstream.Msg to Message, caching its metadata. Acks go
// through conf, which awaits their confirmation; a nil conf acks without
// confirmation.
type jsMsg struct {
	m          jetstream.Msg
	seq        uint64
	deliveries uint64
	conf       *confirmer
}

func newMsg(m jetstream.Msg, conf *confirmer) *jsMsg {
	jm := &jsMsg{m: m, conf: conf, deliveries: 1}
	if md, err := m.Metadata(); err == nil {
		jm.seq = md.Sequence.Stream
		jm.deliveries = md.NumDelivered
	}
	return jm
}

func (j *jsMsg) Data() []byte         { return j.m.Data() }
func (j *jsMsg) Subject() string      { return j.m.Subject() }
func (j *jsMsg) Headers() nats.Header { return j.m.Headers() }
func (j *jsMsg) Seq() uint64          { return j.seq }
func (j *jsMsg) Deliveries() uint64   { return j.deliveries }
func (j *jsMsg) InProgress() error    { return j.m.InProgress() }

func (j *jsMsg) Ack(done func(error)) {
	if j.conf == nil {
		done(j.m.Ack())
		return
	}
	if j.m.Reply() == "" {
		done(jetstream.ErrMsgNoReply)
		return
	}
	j.conf.ack(j.m.Reply(), done)
}

// minNakDelay turns an immediate nak into a delayed one. The server keeps
// a plain Nak only in its in-memory redelivery queue, while a delayed one
// rewrites the message's pending timestamp in the consumer's stored state:
// if the server restarts right after (an embedded server stopping with its
// replica), the message is redelivered at once instead of after AckWait.
const minNakDelay = time.Millisecond

func (j *jsMsg) Nak(delay time.Duration) error {
	return j.m.NakWithDelay(max(delay, minNakDelay))
}

func (j *jsMsg) Term(reason string) error {
	if reason == "" {
		return j.m.Term()
	}
	return j.m.TermWithReason(reason)
}

// AckAndWait acks m and waits for the outcome of its confirmation, or for
// ctx to end (the ack may still be confirmed later).
func AckAndWait(ctx context.Context, m Message) error {
	res := make(chan error, 1)
	m.Ack(func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("ack: %w", ctx.Err())
	}
}
