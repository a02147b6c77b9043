package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is one stored dead letter as `regen dlq list` shows it.
type DeadLetter struct {
	Seq             uint64    `json:"seq"`
	ID              string    `json:"id"`
	ChangeType      string    `json:"change_type"`
	Subject         string    `json:"subject"`
	Reason          string    `json:"reason"`
	Error           string    `json:"error"`
	Deliveries      uint64    `json:"deliveries"`
	DeadAt          time.Time `json:"dead_at"`
	OriginalSubject string    `json:"original_subject"`
	// MsgID is the original Nats-Msg-Id (usually the event id).
	MsgID string `json:"msg_id,omitempty"`
	// Size is the payload size stored.
	Size int `json:"size"`
	// Truncated says the payload stored is the first Size bytes of
	// OriginalSize (SHA-256 OriginalHash): it cannot be replayed.
	Truncated    bool   `json:"truncated,omitempty"`
	OriginalSize int64  `json:"original_size,omitempty"`
	OriginalHash string `json:"original_hash,omitempty"`
	// OriginalHeaders are the original message's headers under their own
	// names (Nats-* ones included; a replay leaves those out).
	OriginalHeaders nats.Header `json:"original_headers,omitempty"`
	Data            []byte      `json:"-"`
}

// All yields the dead letters from stream sequence from on (0: the
// first), oldest first, reading each from the stream only when the loop
// asks for the next, so one payload at a time is in memory. Dead letters
// stored after All began are not yielded (a replay that dead-letters
// again is not met twice). A read error is yielded once and ends it.
func (d *DeadLetters) All(ctx context.Context, from uint64) iter.Seq2[DeadLetter, error] {
	return func(yield func(DeadLetter, error) bool) {
		st, err := d.js.Stream(ctx, wire.DLQStream)
		if err != nil {
			yield(DeadLetter{}, fmt.Errorf("dlq: %w", err))
			return
		}
		last := st.CachedInfo().State.LastSeq
		for seq := max(from, 1); seq <= last; {
			raw, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(wire.DLQSubjects))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return
			}
			if err != nil {
				yield(DeadLetter{}, fmt.Errorf("dlq read from seq %d: %w", seq, err))
				return
			}
			if raw.Sequence > last || !yield(parseDeadLetter(raw), nil) {
				return
			}
			seq = raw.Sequence + 1
		}
	}
}

func parseDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{Seq: raw.Sequence, Reason: h.Get(HeaderReason), Error: h.Get(HeaderError),
		OriginalSubject: h.Get(HeaderOriginalSubject), Data: raw.Data, Size: len(raw.Data),
		Truncated: h.Get(HeaderTruncated) == "true", OriginalHash: h.Get(HeaderOriginalHash),
		OriginalHeaders: originalHeaders(h)}
	dl.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeliveries), 10, 64)
	dl.DeadAt, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderDeadAt))
	dl.OriginalSize, _ = strconv.ParseInt(h.Get(HeaderOriginalSize), 10, 64)
	dl.MsgID = dl.OriginalHeaders.Get(nats.MsgIdHdr)
	if len(dl.OriginalHeaders) == 0 {
		dl.OriginalHeaders = nil
	}
	p := probeEvent(raw.Data)
	dl.ID, dl.ChangeType, dl.Subject = cmp.Or(p.ID, dl.MsgID), p.ChangeType, p.Subject
	return dl
}

// Replay republishes the dead letters selected by match to their original
// subjects, with their original headers but JetStream's (Nats-*) and a
// fresh Nats-Msg-Id, and removes each only after its republish was
// acknowledged. It returns how many were replayed. A truncated dead
// letter is not replayed: it is left in place and reported (ErrTruncated)
// while the others go on; any other error stops the replay.
func (d *DeadLetters) Replay(ctx context.Context, match func(DeadLetter) bool) (int, error) {
	st, err := d.js.Stream(ctx, wire.DLQStream)
	if err != nil {
		return 0, fmt.Errorf("dlq replay: %w", err)
	}
	n := 0
	var skipped []error
	for dl, err := range d.All(ctx, 0) {
		if err != nil {
			return n, errors.Join(append(skipped, err)...)
		}
		if !match(dl) {
			continue
		}
		if dl.Truncated {
			skipped = append(skipped, fmt.Errorf("dlq replay seq %d (id %q): %w: %d of %d bytes stored (%s)",
				dl.Seq, dl.ID, ErrTruncated, dl.Size, dl.OriginalSize, dl.OriginalHash))
			continue
		}
		if err := d.replayOne(ctx, st, dl); err != nil {
			return n, errors.Join(append(skipped, err)...)
		}
		n++
	}
	return n, errors.Join(skipped...)
}

func (d *DeadLetters) replayOne(ctx context.Context, st jetstream.Stream, dl DeadLetter) error {
	if dl.OriginalSubject == "" {
		return fmt.Errorf("dlq replay seq %d: no original subject", dl.Seq)
	}
	msg := nats.NewMsg(replaySubject(dl))
	msg.Data = dl.Data
	msg.Header = replayHeaders(dl.OriginalHeaders)
	// A fresh id: the original is still inside the dedupe window.
	msg.Header.Set(nats.MsgIdHdr, dl.ID+"-replay-"+strconv.FormatUint(dl.Seq, 10))
	if _, err := d.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dlq replay seq %d: %w", dl.Seq, err)
	}
	if err := st.DeleteMsg(ctx, dl.Seq); err != nil {
		return fmt.Errorf("dlq replay seq %d: delete: %w", dl.Seq, err)
	}
	return nil
}

// replaySubject is where dl is republished: its original subject, unless
// that subject was the fault (a bad NATS subject, or one that disagrees
// with the body), when it is the subject the body's change type belongs on,
// at the original priority when that one was valid.
func replaySubject(dl DeadLetter) string {
	if dl.Reason != wire.ReasonBadNATSSubject && dl.Reason != wire.ReasonSubjectMismatch {
		return dl.OriginalSubject
	}
	typ := wire.ChangeType(dl.ChangeType)
	if !typ.Valid() {
		return dl.OriginalSubject
	}
	prio := wire.PriorityNormal
	rest, _ := strings.CutPrefix(dl.OriginalSubject, "regen.changes.")
	if p, _, _ := strings.Cut(rest, "."); wire.Priority(p).Valid() {
		prio = wire.Priority(p)
	}
	return wire.ChangeSubject(prio, typ)
}

// Purge removes every dead letter.
func (d *DeadLetters) Purge(ctx context.Context) error {
	st, err := d.js.Stream(ctx, wire.DLQStream)
	if err != nil {
		return fmt.Errorf("dlq purge: %w", err)
	}
	if err := st.Purge(ctx); err != nil {
		return fmt.Errorf("dlq purge: %w", err)
	}
	return nil
}
