package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// reap copies the stored message seq to the DLQ, then deletes it from the
// work queue. Deleting only after the copy is stored means a crash in
// between leaves a duplicate dead letter at worst (deduplicated by id),
// never a loss.
func (r *Reaper) reap(ctx context.Context, seq, deliveries uint64) error {
	return r.reapIn(ctx, seq, deliveries, "")
}

// errOtherConsumer: the message is not on the sweeping consumer's filter.
var errOtherConsumer = errors.New("not on the consumer's filter")

// reapIn is reap for a message on filter ("" or ">"-terminated, as the
// consumers Provision creates), errOtherConsumer for one that is not.
func (r *Reaper) reapIn(ctx context.Context, seq, deliveries uint64, filter string) error {
	st, err := r.js.Stream(ctx, wire.ChangesStream)
	if err != nil {
		return fmt.Errorf("reap %d: %w", seq, err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("reap %d: %w", seq, err)
	}
	if !onFilter(raw.Subject, filter) {
		return errOtherConsumer
	}
	m := &storedMsg{raw: raw, deliveries: deliveries}
	cause := errors.New("delivery attempts exhausted (MaxDeliver) without success")
	if err := r.dlq.DeadLetter(ctx, m, wire.ReasonMaxDeliveries, cause); err != nil {
		return err
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("reap %d: delete: %w", seq, err)
	}
	r.log.Warn("event dead-lettered after max deliveries", slog.Uint64("seq", seq),
		slog.String("event_id", eventIDOf(raw.Data)), slog.String("execution_id", ""))
	if r.onReap != nil {
		r.onReap(seq)
	}
	return nil
}

// storedMsg adapts a message read from the stream to Message for the DLQ.
// Its ack methods do nothing: it was never delivered through a consumer.
type storedMsg struct {
	raw        *jetstream.RawStreamMsg
	deliveries uint64
}

func (s *storedMsg) Data() []byte            { return s.raw.Data }
func (s *storedMsg) Subject() string         { return s.raw.Subject }
func (s *storedMsg) Headers() nats.Header    { return s.raw.Header }
func (s *storedMsg) Seq() uint64             { return s.raw.Sequence }
func (s *storedMsg) Deliveries() uint64      { return s.deliveries }
func (s *storedMsg) Ack(done func(error))    { done(nil) }
func (s *storedMsg) Nak(time.Duration) error { return nil }
func (s *storedMsg) Term(string) error       { return nil }
func (s *storedMsg) InProgress() error       { return nil }

func eventIDOf(data []byte) string {
	ev, err := wire.DecodeChangeEvent(data, 0)
	if err != nil {
		return ""
	}
	return ev.ID
}

// onFilter reports whether subject is on filter: "" matches all, a
// filter ending in ">" matches by prefix, any other exactly.
func onFilter(subject, filter string) bool {
	if prefix, ok := strings.CutSuffix(filter, ">"); ok {
		return strings.HasPrefix(subject, prefix)
	}
	return filter == "" || subject == filter
}
