package app

import (
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// On an idle replica with priority levels, a lone event of any level is
// handed over as soon as it arrives, not when the other levels' waiting
// pulls end: with a fetch_wait of 15 s, each event is deployed well
// within it.
func TestLoneEventIsNotHeldByOtherLevelsWaits(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {
		c.Orchestrator.PriorityLevels = true
		c.Orchestrator.FetchWait = 15 * time.Second
	})
	dl := watchDeploys(t, b.nc)
	svc := b.start(t)
	o := svc.Orchestrator()
	for i, p := range []wire.Priority{wire.PriorityLow, wire.PriorityCritical, wire.PriorityNormal} {
		publishAt(t, b.js, p, 1)
		id := string(p) + "-0"
		testkit.WaitFor(t, 7*time.Second, id+" deployed before the other levels' waits ended", func() bool {
			dl.mu.Lock()
			defer dl.mu.Unlock()
			return dl.perEvent[id] > 0
		})
		testkit.WaitFor(t, 7*time.Second, id+" acked", func() bool { return o.Stats().EventsProcessed == int64(i+1) })
	}
}
