package wire

// AttemptsBucket is the KV bucket where regen records, per stream
// sequence of a change event, the deliveries that did not settle it
// (deferrals, failures), so that an event's delivery budget counts
// failures and crashes, never the deferrals of an open circuit.
const AttemptsBucket = "REGEN_ATTEMPTS"

// Attempts is what an event's unsettled deliveries came to. A delivery
// that neither settled the event nor was recorded here ended without an
// outcome (the replica crashed, or its ack was lost).
type Attempts struct {
	// Deferrals counts deliveries given back without trying the event:
	// a circuit was open, or another replica held the artifact's path.
	Deferrals uint64 `json:"deferrals"`
	// Failures counts deliveries that failed transiently.
	Failures uint64 `json:"failures"`
	// LastError is the last failure's message.
	LastError string `json:"last_error,omitempty"`
}

// Spent is how much of the delivery budget deliveries have used: every
// delivery but the deferrals.
func (a Attempts) Spent(deliveries uint64) uint64 {
	if a.Deferrals >= deliveries {
		return 0
	}
	return deliveries - a.Deferrals
}
