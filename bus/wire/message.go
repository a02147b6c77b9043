package wire

import (
	"time"

	"github.com/nats-io/nats.go"
)

// Message is one delivered change event. Implementations are safe to use
// from the goroutine that processes the message; each ack method is called
// at most once per delivery.
type Message interface {
	// Data is the raw payload.
	Data() []byte
	// Subject is the subject the event was published on.
	Subject() string
	// Headers are the message headers (may be nil).
	Headers() nats.Header
	// Seq is the stream sequence (0 if unknown).
	Seq() uint64
	// Deliveries is the delivery count, 1 on first delivery.
	Deliveries() uint64
	// Ack acknowledges and asks for the server's confirmation; it calls
	// done exactly once, with nil once confirmed or with the error (not
	// sent, refused, or unconfirmed after the ack timeout). done may run
	// before Ack returns, or on another goroutine; it must not block.
	Ack(done func(error))
	// Nak asks for redelivery after delay.
	Nak(delay time.Duration) error
	// Term stops redelivery for good.
	Term(reason string) error
	// InProgress resets the ack-wait timer.
	InProgress() error
}

// ConsumerNamer is implemented by a Message that knows the name of the
// consumer that delivered it (the bus's messages do).
type ConsumerNamer interface {
	Consumer() string
}
