package bus

import "testing"

// ackNumbers reads both ack subject formats and refuses other shapes
// (TestAckNumbersAgreeWithMetadata checks it on real deliveries).
func TestAckNumbers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		reply          string
		seq, delivered uint64
	}{
		{"$JS.ACK.REGEN_CHANGES.regen-workers.3.1234.77.1700000000000000000.5", 1234, 3},
		{"$JS.ACK.hub.ACCHASH.REGEN_CHANGES.regen-workers.1.98765.4.1700000000000000000.0", 98765, 1},
		{"$JS.ACK.hub.ACCHASH.REGEN_CHANGES.regen-workers.12.5.4.1700000000000000000.0.r4nd0m", 5, 12},
	} {
		seq, delivered, ok := ackNumbers(c.reply)
		if !ok || seq != c.seq || delivered != c.delivered {
			t.Errorf("%s: %d, %d, %v; want %d, %d", c.reply, seq, delivered, ok, c.seq, c.delivered)
		}
	}
	for _, bad := range []string{"", "_INBOX.x.y", "$JS.ACK.s.c.x.1.2.3.4", "$JS.ACK.s.c.1.2.3", "$JS.API.a.b.1.2.3.4.5"} {
		if _, _, ok := ackNumbers(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
