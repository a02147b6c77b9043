package bus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsMsg adapts a jetstream.Msg to Message, caching its metadata.
type jsMsg struct {
	m          jetstream.Msg
	seq        uint64
	deliveries uint64
	asyncAck   bool
}

func newMsg(m jetstream.Msg, asyncAck bool) *jsMsg {
	jm := &jsMsg{m: m, asyncAck: asyncAck, deliveries: 1}
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

func (j *jsMsg) Ack(ctx context.Context) error {
	if j.asyncAck {
		return j.m.Ack()
	}
	return j.m.DoubleAck(ctx)
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
