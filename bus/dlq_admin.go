package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	Data            []byte    `json:"-"`
}

// List returns every dead letter, oldest first.
func (d *DeadLetters) List(ctx context.Context) ([]DeadLetter, error) {
	st, err := d.js.Stream(ctx, wire.DLQStream)
	if err != nil {
		return nil, fmt.Errorf("dlq list: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dlq list: %w", err)
	}
	var out []DeadLetter
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dlq list seq %d: %w", seq, err)
		}
		out = append(out, parseDeadLetter(raw))
	}
	return out, nil
}

func parseDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{Seq: raw.Sequence, Reason: h.Get(HeaderReason), Error: h.Get(HeaderError),
		OriginalSubject: h.Get(HeaderOriginalSubject), Data: raw.Data}
	dl.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeliveries), 10, 64)
	dl.DeadAt, _ = time.Parse(time.RFC3339Nano, h.Get(HeaderDeadAt))
	var probe struct {
		ID         string `json:"id"`
		ChangeType string `json:"change_type"`
		Subject    string `json:"subject"`
	}
	_ = json.Unmarshal(raw.Data, &probe)
	dl.ID, dl.ChangeType, dl.Subject = probe.ID, probe.ChangeType, probe.Subject
	return dl
}

// Replay republishes the dead letters selected by match to their original
// subjects and removes each only after its republish was acknowledged. It
// returns how many were replayed.
func (d *DeadLetters) Replay(ctx context.Context, match func(DeadLetter) bool) (int, error) {
	all, err := d.List(ctx)
	if err != nil {
		return 0, err
	}
	st, err := d.js.Stream(ctx, wire.DLQStream)
	if err != nil {
		return 0, fmt.Errorf("dlq replay: %w", err)
	}
	n := 0
	for _, dl := range all {
		if !match(dl) {
			continue
		}
		if err := d.replayOne(ctx, st, dl); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (d *DeadLetters) replayOne(ctx context.Context, st jetstream.Stream, dl DeadLetter) error {
	if dl.OriginalSubject == "" {
		return fmt.Errorf("dlq replay seq %d: no original subject", dl.Seq)
	}
	msg := nats.NewMsg(dl.OriginalSubject)
	msg.Data = dl.Data
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
