package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

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

// init sets jm up for m (Source.pull makes a batch's wrappers in one
// slice).
func (jm *jsMsg) init(m jetstream.Msg, conf *confirmer) {
	*jm = jsMsg{m: m, conf: conf, deliveries: 1}
	if seq, delivered, ok := ackNumbers(m.Reply()); ok {
		jm.seq, jm.deliveries = seq, delivered
	} else if md, err := m.Metadata(); err == nil {
		jm.seq, jm.deliveries = md.Sequence.Stream, md.NumDelivered
	}
}

// ackNumbers reads the stream sequence and the delivery count from a
// JetStream ack subject without allocating (Metadata builds a struct and
// parses a timestamp for every message):
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
//	$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>[.<token>]
//
// ok is false for any other shape (the caller falls back to Metadata).
func ackNumbers(reply string) (seq, delivered uint64, ok bool) {
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return 0, 0, false
	}
	first := 4 // the delivered token: 9 tokens
	switch strings.Count(reply, ".") + 1 {
	case 9:
	case 11, 12:
		first = 6
	default:
		return 0, 0, false
	}
	rest, found := reply, false
	for range first {
		if _, rest, found = strings.Cut(rest, "."); !found {
			return 0, 0, false
		}
	}
	d, rest, _ := strings.Cut(rest, ".")
	sq, _, _ := strings.Cut(rest, ".")
	delivered, err1 := strconv.ParseUint(d, 10, 64)
	seq, err2 := strconv.ParseUint(sq, 10, 64)
	return seq, delivered, err1 == nil && err2 == nil
}

// Consumer is the name of the consumer that delivered the message, read
// from its ack subject (or its metadata); "" when neither has it.
func (j *jsMsg) Consumer() string {
	if name, ok := ackConsumer(j.m.Reply()); ok {
		return name
	}
	if md, err := j.m.Metadata(); err == nil {
		return md.Consumer
	}
	return ""
}

// ackConsumer reads the consumer token of a JetStream ack subject (the
// shapes ackNumbers reads) without allocating.
func ackConsumer(reply string) (string, bool) {
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return "", false
	}
	skip := 3 // $JS, ACK, <stream>
	switch strings.Count(reply, ".") + 1 {
	case 9:
	case 11, 12:
		skip = 5
	default:
		return "", false
	}
	rest, found := reply, false
	for range skip {
		if _, rest, found = strings.Cut(rest, "."); !found {
			return "", false
		}
	}
	name, _, _ := strings.Cut(rest, ".")
	return name, name != ""
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
	reply := j.m.Reply()
	if reply == "" {
		done(jetstream.ErrMsgNoReply)
		return
	}
	j.conf.ack(reply, done)
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
func AckAndWait(ctx context.Context, m wire.Message) error {
	res := make(chan error, 1)
	m.Ack(func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("ack: %w", ctx.Err())
	}
}
