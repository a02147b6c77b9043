package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers. A dead letter carries only these, its own
// Nats-Msg-Id and the original headers renamed (HeaderOriginalPrefix).
const (
	HeaderReason          = "Regen-Reason"
	HeaderError           = "Regen-Error"
	HeaderDeliveries      = "Regen-Deliveries"
	HeaderOriginalSubject = "Regen-Original-Subject"
	HeaderOriginalSeq     = "Regen-Original-Seq"
	HeaderDeadAt          = "Regen-Dead-At"
	// HeaderTruncated is "true" when the payload stored is a prefix of the
	// original (HeaderOriginalSize and HeaderOriginalHash describe the
	// whole). Such a dead letter cannot be replayed.
	HeaderTruncated = "Regen-Truncated"
	// HeaderOriginalSize is the original payload's size in bytes.
	HeaderOriginalSize = "Regen-Original-Size"
	// HeaderOriginalHash is "sha256:" and the original payload's SHA-256 in hex.
	HeaderOriginalHash = "Regen-Original-Hash"
	// HeaderOriginalHeadersDropped counts original header values left out
	// (over 8 KiB in all, or a name the client cannot publish).
	HeaderOriginalHeadersDropped = "Regen-Original-Headers-Dropped"
	maxErrHeader                 = 512
	// truncHeadersReserve is room for the three truncation headers.
	truncHeadersReserve = 256
)

// DeadLetters copies failed change events to REGEN_DLQ and lists, replays
// and purges them. Safe for concurrent use.
type DeadLetters struct {
	js        jetstream.JetStream
	maxStored int
}

// DLQOption configures NewDeadLetters.
type DLQOption func(*DeadLetters)

// WithMaxStored bounds the payload bytes a dead letter stores
// (wire.MaxPayloadDefault, 1 MiB: regen's max_payload). A longer payload,
// which only an oversize event has, is stored truncated with its size and
// hash. The server's max_payload bounds it too, less the headers.
func WithMaxStored(n int) DLQOption {
	return func(d *DeadLetters) {
		if n > 0 {
			d.maxStored = n
		}
	}
}

// NewDeadLetters returns the DLQ over js.
func NewDeadLetters(js jetstream.JetStream, opts ...DLQOption) *DeadLetters {
	d := &DeadLetters{js: js, maxStored: wire.MaxPayloadDefault}
	for _, o := range opts {
		o(d)
	}
	return d
}

// DeadLetter publishes a copy of m to regen.dlq.<change_type> with the
// reason, and waits for the stream to store it. Call it before Term: a
// terminated message is gone from the work-queue stream. A second copy of
// the same delivery (after a crash) is dropped by the dedupe window. It
// fails when REGEN_DLQ is full (it refuses new dead letters at its
// limits): the caller keeps the event.
func (d *DeadLetters) DeadLetter(ctx context.Context, m wire.Message, reason string, cause error) error {
	var serverMax int64
	if nc := d.js.Conn(); nc != nil {
		serverMax = nc.MaxPayload()
	}
	msg := deadLetterMsg(m, reason, cause, d.maxStored, serverMax, time.Now())
	if _, err := d.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead-letter seq %d: %w", m.Seq(), err)
	}
	return nil
}

// deadLetterMsg builds the dead letter of m: regen's headers, its own
// Nats-Msg-Id (the stream sequence and a hash of the payload: the same
// message twice is one dead letter, two messages are two whatever ids
// their publisher gave them), the original headers renamed, and the
// payload, truncated to maxStored bytes and to what fits in serverMax
// (0: unknown) with the headers.
func deadLetterMsg(m wire.Message, reason string, cause error, maxStored int, serverMax int64, now time.Time) *nats.Msg {
	data := m.Data()
	sum := sha256.Sum256(data)
	seq := strconv.FormatUint(m.Seq(), 10)
	msg := nats.NewMsg(wire.DLQSubject(changeTypeOf(m)))
	h := msg.Header
	h.Set(nats.MsgIdHdr, "dlq-"+seq+"-"+hex.EncodeToString(sum[:8]))
	h.Set(HeaderReason, reason)
	h.Set(HeaderError, truncate(errText(cause), maxErrHeader))
	h.Set(HeaderDeliveries, strconv.FormatUint(m.Deliveries(), 10))
	h.Set(HeaderOriginalSubject, m.Subject())
	h.Set(HeaderOriginalSeq, seq)
	h.Set(HeaderDeadAt, now.UTC().Format(time.RFC3339Nano))
	if dropped := copyOriginalHeaders(h, m.Headers(), maxOriginalHeaderBytes); dropped > 0 {
		h.Set(HeaderOriginalHeadersDropped, strconv.Itoa(dropped))
	}
	fits, limit := maxStored, maxStored
	if serverMax > 0 {
		room := int(serverMax) - headerBytes(h)
		fits, limit = min(fits, room), max(min(limit, room-truncHeadersReserve), 0)
	}
	if len(data) > fits {
		h.Set(HeaderTruncated, "true")
		h.Set(HeaderOriginalSize, strconv.Itoa(len(data)))
		h.Set(HeaderOriginalHash, "sha256:"+hex.EncodeToString(sum[:]))
		data = data[:limit]
	}
	msg.Data = data
	return msg
}

// changeTypeOf finds the change type from the subject's last token, else
// from the payload's first bytes; "" when neither has a valid one.
func changeTypeOf(m wire.Message) wire.ChangeType {
	subj := m.Subject()
	if i := strings.LastIndexByte(subj, '.'); i >= 0 {
		if t := wire.ChangeType(subj[i+1:]); t.Valid() {
			return t
		}
	}
	return wire.ChangeType(probeEvent(m.Data()).ChangeType)
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

// ErrTruncated is returned by Replay for a dead letter whose payload was
// stored truncated: it cannot be replayed faithfully.
var ErrTruncated = errors.New("dead letter is truncated and cannot be replayed")
