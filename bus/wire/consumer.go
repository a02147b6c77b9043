package wire

import "time"

// The shared durable pull consumer every replica fetches from. bus
// provisions it with these defaults, and the orchestrator's AckWait and
// MaxDeliver must equal the consumer's, so both take them from here.
const (
	// ConsumerDefault is the name of the durable pull consumer every
	// replica shares.
	ConsumerDefault = "regen-workers"
	// AckWaitDefault is how long a delivered message may stay unacked
	// before it is redelivered.
	AckWaitDefault = 30 * time.Second
	// MaxDeliverDefault bounds the deliveries of a message; the last one
	// that fails is dead-lettered.
	MaxDeliverDefault = 10
)
