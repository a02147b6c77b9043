package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// An oversize event is dead-lettered truncated to max_payload; once the
// DLQ is at its limit, an invalid event is kept in the work queue
// (nak'ed), never dropped.
func TestAFullDLQKeepsEventsInTheWorkQueue(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {
		c.DLQ.MaxMsgs = 1
		c.Orchestrator.MaxPayload = 512
	})
	svc := b.start(t)
	dlq := bus.NewDeadLetters(b.js)
	usage := func() bus.DLQUsage {
		u, err := dlq.Usage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	big := fmt.Appendf(nil, `{"id":"big","change_type":"node_added","subject":"urn:big","properties":{"p":%q}}`,
		strings.Repeat("x", 4000))
	publish(t, b.js, [][]byte{big})
	testkit.WaitFor(t, 30*time.Second, "the oversize event dead-lettered", func() bool { return usage().Msgs == 1 })
	for dl, err := range dlq.All(context.Background(), 0) {
		if err != nil || !dl.Truncated || dl.Size != 512 || dl.OriginalSize != int64(len(big)) || dl.Reason != wire.ReasonOversize {
			t.Fatalf("dead letter %+v (%v), want oversize truncated to 512", dl, err)
		}
	}
	publish(t, b.js, [][]byte{[]byte(`{not json`)})
	o := svc.Orchestrator()
	testkit.WaitFor(t, 30*time.Second, "a refused dead letter", func() bool { return o.Stats().Failures >= 1 })
	st, err := b.js.Stream(context.Background(), wire.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 || usage().Msgs != 1 {
		t.Fatalf("work queue holds %d, DLQ %d: want the invalid event kept and the DLQ unchanged", n, usage().Msgs)
	}
}
