package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers.
const (
	HeaderReason          = "Regen-Reason"
	HeaderError           = "Regen-Error"
	HeaderDeliveries      = "Regen-Deliveries"
	HeaderOriginalSubject = "Regen-Original-Subject"
	HeaderOriginalSeq     = "Regen-Original-Seq"
	HeaderDeadAt          = "Regen-Dead-At"
	maxErrHeader          = 512
)

// DeadLetters copies failed change events to REGEN_DLQ and lists, replays
// and purges them. Safe for concurrent use.
type DeadLetters struct {
	js jetstream.JetStream
}

// NewDeadLetters returns the DLQ over js.
func NewDeadLetters(js jetstream.JetStream) *DeadLetters { return &DeadLetters{js: js} }

// DeadLetter publishes a copy of m to regen.dlq.<change_type> with the
// reason, and waits for the stream to store it. Call it before Term: a
// terminated message is gone from the work-queue stream. A second copy of
// the same delivery (after a crash) is dropped by the dedupe window.
func (d *DeadLetters) DeadLetter(ctx context.Context, m wire.Message, reason string, cause error) error {
	msg := nats.NewMsg(wire.DLQSubject(changeTypeOf(m)))
	msg.Data = m.Data()
	for k, v := range m.Headers() {
		msg.Header[k] = v
	}
	msg.Header.Set(nats.MsgIdHdr, "dlq-"+strconv.FormatUint(m.Seq(), 10)+"-"+m.Headers().Get(nats.MsgIdHdr))
	msg.Header.Set(HeaderReason, reason)
	msg.Header.Set(HeaderError, truncate(errText(cause), maxErrHeader))
	msg.Header.Set(HeaderDeliveries, strconv.FormatUint(m.Deliveries(), 10))
	msg.Header.Set(HeaderOriginalSubject, m.Subject())
	msg.Header.Set(HeaderOriginalSeq, strconv.FormatUint(m.Seq(), 10))
	msg.Header.Set(HeaderDeadAt, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := d.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead-letter seq %d: %w", m.Seq(), err)
	}
	return nil
}

// changeTypeOf finds the change type from the subject's last token, else
// from the payload; "" when neither has a valid one.
func changeTypeOf(m wire.Message) wire.ChangeType {
	subj := m.Subject()
	if i := strings.LastIndexByte(subj, '.'); i >= 0 {
		if t := wire.ChangeType(subj[i+1:]); t.Valid() {
			return t
		}
	}
	var probe struct {
		ChangeType wire.ChangeType `json:"change_type"`
	}
	_ = json.Unmarshal(m.Data(), &probe)
	return probe.ChangeType
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, err.Error())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ErrDeadLetterNotFound is returned by Replay for an unknown id.
var ErrDeadLetterNotFound = errors.New("dead letter not found")
