package app

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// deployLog records deployment_completed and breaker_state_changed
// telemetry as it arrives.
type deployLog struct {
	mu          sync.Mutex
	perEvent    map[string]int
	transitions []string
}

func watchDeploys(t *testing.T, nc *nats.Conn) *deployLog {
	t.Helper()
	dl := &deployLog{perEvent: map[string]int{}}
	sub, err := nc.Subscribe("telemetry.*", func(m *nats.Msg) {
		var ev wire.TelemetryRecord
		if json.Unmarshal(m.Data, &ev) != nil {
			return
		}
		dl.mu.Lock()
		defer dl.mu.Unlock()
		switch ev.Type {
		case wire.DeploymentCompleted:
			id, _ := ev.Data["event_id"].(string)
			dl.perEvent[id]++
		case wire.BreakerStateChanged:
			from, _ := ev.Data["from"].(string)
			to, _ := ev.Data["to"].(string)
			dl.transitions = append(dl.transitions, from+">"+to)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return dl
}

// exactlyOnce reports events deployed other than once, out of n ids id-0..
func (dl *deployLog) exactlyOnce(n int) (missing, twice int) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	for i := range n {
		switch dl.perEvent[idOf(i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	return missing, twice
}

// waitDeployed waits until each of the n events id-0.. was deployed.
func (dl *deployLog) waitDeployed(t *testing.T, n int) {
	t.Helper()
	testkit.WaitFor(t, 60*time.Second, "every event deployed", func() bool {
		missing, _ := dl.exactlyOnce(n)
		return missing == 0
	})
}

// requireOnce fails t if any of the n events id-0.. deployed twice.
func (dl *deployLog) requireOnce(t *testing.T, n int) {
	t.Helper()
	if _, twice := dl.exactlyOnce(n); twice != 0 {
		t.Fatalf("%d events deployed more than once", twice)
	}
}

func (dl *deployLog) saw(transition string) bool {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	for _, tr := range dl.transitions {
		if tr == transition {
			return true
		}
	}
	return false
}

func idOf(i int) string { return "id-" + strconv.Itoa(i) }

// fastRetries makes redelivery quick so the tests take seconds.
func fastRetries(c *config.Config) {
	c.Orchestrator.NakDelay = 10 * time.Millisecond
	c.Orchestrator.NakDelayMax = 100 * time.Millisecond
	c.Orchestrator.MaxDeliver = 1000
	c.Breaker = breaker.Config{MinRequests: 5, FailureRatio: 0.5, OpenTimeout: 200 * time.Millisecond,
		HalfOpenProbes: 2, Retries: breaker.RetriesDisabled}.WithDefaults()
}

func TestEngineDownOpensTheBreakerAndLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 50
	b := setup(t, func(c *config.Config) {
		fastRetries(c)
		c.Faults = "engine:fail_first=40"
	})
	dl := watchDeploys(t, b.nc)
	svc := b.start(t)
	publish(t, b.js, syntheticNodes(n))
	dl.waitDeployed(t, n)
	dl.requireOnce(t, n)
	for _, tr := range []string{"closed>open", "open>half-open", "half-open>closed"} {
		if !dl.saw(tr) {
			t.Errorf("breaker never went %s (saw %v)", tr, dl.transitions)
		}
	}
	s := svc.Orchestrator().Stats()
	if s.Deferred == 0 || s.DeadLettered != 0 {
		t.Fatalf("stats = %+v: want deferrals while open and no dead letters", s)
	}
	if u, err := bus.NewDeadLetters(b.js).Usage(context.Background()); err != nil || u.Msgs != 0 {
		t.Fatalf("%d events dead-lettered because of an open circuit (%v)", u.Msgs, err)
	}
}

func TestFlakyDeployerDeploysEveryEventExactlyOnce(t *testing.T) {
	t.Parallel()
	const n = 200
	b := setup(t, func(c *config.Config) {
		fastRetries(c)
		c.Breaker.FailureRatio = 0.9
		c.Faults = "deployer:error=0.3"
	})
	dl := watchDeploys(t, b.nc)
	b.start(t)
	publish(t, b.js, syntheticNodes(n))
	dl.waitDeployed(t, n)
	testkit.WaitFor(t, 10*time.Second, "stream drained", func() bool { return streamMsgs(t, b.js, wire.ChangesStream) == 0 })
	dl.requireOnce(t, n)
	if got := countFiles(t, b.out); got != n {
		t.Fatalf("%d artifacts, want %d", got, n)
	}
}

// Deferrals spend no delivery budget: every event is given back (its path
// busy) more often than max_deliver allows deliveries, yet none is
// dead-lettered, and every one is deployed once.
func TestDeferralsSpendNoDeliveryBudget(t *testing.T) {
	t.Parallel()
	const n = 20
	b := setup(t, func(c *config.Config) {
		fastRetries(c)
		c.Orchestrator.MaxDeliver = 2
		c.Faults = "deployer:busy_first=100" // 5 deferrals per event on average
	})
	dl := watchDeploys(t, b.nc)
	svc := b.start(t)
	publish(t, b.js, syntheticNodes(n))
	dl.waitDeployed(t, n)
	dl.requireOnce(t, n)
	s := svc.Orchestrator().Stats()
	if s.Deferred < 100 || s.DeadLettered != 0 {
		t.Fatalf("stats = %+v: want 100 deferrals and no dead letters", s)
	}
	if list := testkit.DeadLetters(t, b.js); len(list) != 0 {
		t.Fatalf("%d events dead-lettered for deferrals: %+v", len(list), list)
	}
}
