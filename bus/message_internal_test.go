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

func TestAckPending(t *testing.T) {
	for reply, want := range map[string]uint64{
		"$JS.ACK.REGEN_CHANGES.regen-workers-low.1.42.40.1700000000000000000.1958":          1958,
		"$JS.ACK.hub.ACCHASH.REGEN_CHANGES.regen-workers-low.1.42.40.1700000000000000000.7": 7,
		"$JS.ACK.hub.ACCHASH.S.C.1.42.40.1700000000000000000.0.tok":                         0,
	} {
		if got, ok := ackPending(reply); !ok || got != want {
			t.Errorf("ackPending(%q) = %d, %v; want %d", reply, got, ok, want)
		}
	}
	if _, ok := ackPending("_INBOX.x"); ok {
		t.Error("ackPending accepted a non-ack subject")
	}
}

func TestAckConsumer(t *testing.T) {
	t.Parallel()
	for reply, want := range map[string]string{
		"$JS.ACK.REGEN_CHANGES.regen-workers.3.1234.77.1700000000000000000.5":                 "regen-workers",
		"$JS.ACK.hub.ACCHASH.REGEN_CHANGES.regen-workers-low.1.98765.4.1700000000000000000.0": "regen-workers-low",
		"$JS.ACK.hub.ACCHASH.REGEN_CHANGES.regen-workers.12.5.4.1700000000000000000.0.r4nd0m": "regen-workers",
	} {
		if got, ok := ackConsumer(reply); !ok || got != want {
			t.Errorf("ackConsumer(%q) = %q, %v; want %q", reply, got, ok, want)
		}
	}
	for _, bad := range []string{"", "_INBOX.x.y", "$JS.ACK.s.c.1.2.3"} {
		if _, ok := ackConsumer(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
