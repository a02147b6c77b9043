package benchkit

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
)

// The replica of the priority scenario: priority levels on, weighted
// 8:4:2:1, fixed concurrency and batch (no tuning), and a slow engine.
const (
	priorityConcurrency = 8
	priorityBatch       = 16
)

// PriorityDetail is what the priority scenario measured.
type PriorityDetail struct {
	LowEvents      int     `json:"low_events"`
	CriticalEvents int     `json:"critical_events"`
	EngineDelayMS  float64 `json:"engine_delay_ms"`
	MaxConcurrent  int     `json:"max_concurrent"`
	BatchSize      int     `json:"batch_size"`
	// P50MSUnderLoad and P50MSIdle are the critical events' median
	// publish → done, behind the low backlog and on an idle replica.
	P50MSUnderLoad float64 `json:"p50_ms_under_load"`
	P50MSIdle      float64 `json:"p50_ms_idle"`
	// LowPendingWhenDone is the low events not yet acked once the last
	// critical one was done.
	LowPendingWhenDone int `json:"low_pending_when_done"`
}

// priority times critical events (publish → their last artifact
// deployed) on a replica running the example templates with priority
// levels on: once behind a backlog of PriorityLowEvents low events and
// the slow engine, once on the same replica setup with nothing queued.
func (s *suite) priority(ctx context.Context) error {
	z := s.cfg.Sizes
	if s.cfg.Templates == "" {
		s.rep.Errors["priority_p99_ms_critical_under_load"] = "no templates directory configured"
		s.rep.Errors["priority_p99_ms_critical_idle"] = "no templates directory configured"
		return nil
	}
	d := &s.rep.Detail.Priority
	d.LowEvents, d.CriticalEvents = z.PriorityLowEvents, z.PriorityCriticalEvents
	d.EngineDelayMS, d.MaxConcurrent, d.BatchSize = ms(z.PriorityEngineDelay), priorityConcurrency, priorityBatch
	idle, _, err := s.priorityRun(ctx, 0, z.PriorityCriticalEvents)
	if err != nil {
		return err
	}
	load, pending, err := s.priorityRun(ctx, z.PriorityLowEvents, z.PriorityCriticalEvents)
	if err != nil {
		return err
	}
	idleP99, loadP99 := percentile(idle, 0.99), percentile(load, 0.99)
	s.rep.PriorityP99MSCriticalIdle, s.rep.PriorityP99MSCriticalUnderLoad = &idleP99, &loadP99
	d.P50MSIdle, d.P50MSUnderLoad, d.LowPendingWhenDone = percentile(idle, 0.5), percentile(load, 0.5), pending
	s.progress("priority: %d critical behind %d low (engine +%s): p50 %.1f ms, p99 %.1f ms; idle p50 %.1f ms, p99 %.1f ms; %d low pending when done",
		d.CriticalEvents, d.LowEvents, z.PriorityEngineDelay, d.P50MSUnderLoad, loadP99, d.P50MSIdle, idleP99, pending)
	return nil
}

// priorityRun queues lows low events, starts a replica, and once it is
// busy with them (or at once when there are none) publishes criticals
// critical events; it returns their publish → done latencies in ms and
// the low events still pending when the last was done.
func (s *suite) priorityRun(ctx context.Context, lows, criticals int) ([]float64, int, error) {
	if err := s.env.provision(ctx, 0); err != nil {
		return nil, 0, err
	}
	if err := s.resetModel(ctx); err != nil {
		return nil, 0, err
	}
	if err := s.env.fillAt(ctx, wire.PriorityLow, lows, genLevelNodes(wire.PriorityLow)); err != nil {
		return nil, 0, err
	}
	dw, err := watchDeployed(s.env.nc)
	if err != nil {
		return nil, 0, err
	}
	defer dw.stop()
	svc, err := s.startPriorityReplica(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer stopReplica(ctx, svc)
	if lows > 0 {
		if err := poll(ctx, "priority bench: the low backlog under way", func() (bool, error) {
			return svc.Orchestrator().Stats().EventsProcessed > 0, nil
		}); err != nil {
			return nil, 0, err
		}
	}
	sent, err := s.publishCritical(ctx, criticals)
	if err != nil {
		return nil, 0, err
	}
	if err := poll(ctx, "priority bench: every critical event done", func() (bool, error) {
		n, err := s.env.pending(ctx, wire.PriorityCritical)
		return err == nil && n == 0 && dw.count() >= criticals, err
	}); err != nil {
		return nil, 0, err
	}
	pending, err := s.env.pending(ctx, wire.PriorityLow)
	if err != nil {
		return nil, 0, err
	}
	return dw.latencies(sent), pending, nil
}

func (s *suite) startPriorityReplica(ctx context.Context) (*app.Service, error) {
	cfg := config.Default()
	cfg.NATS.URL, cfg.Templates = s.env.url(), s.cfg.Templates
	cfg.Deploy = []string{"dir:" + filepath.Join(s.env.dir, "priority-out")}
	cfg.Orchestrator.Replica = "regen-bench-priority"
	cfg.Orchestrator.PriorityLevels = true
	cfg.Orchestrator.AdaptiveOptimization = false
	cfg.Orchestrator.MaxConcurrent, cfg.Orchestrator.BatchSize = priorityConcurrency, priorityBatch
	cfg.Faults = fmt.Sprintf("engine:delay=%s", s.cfg.Sizes.PriorityEngineDelay)
	svc, err := app.Start(ctx, cfg, s.cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("priority bench: %w", err)
	}
	return svc, nil
}

// publishCritical publishes n critical events asynchronously and returns
// when each was handed to the client, by id.
func (s *suite) publishCritical(ctx context.Context, n int) (map[string]time.Time, error) {
	gen := genLevelNodes(wire.PriorityCritical)
	sent := make(map[string]time.Time, n)
	for i := range n {
		ev, data := gen(i)
		msg := nats.NewMsg(ev.NATSSubject(wire.PriorityCritical))
		msg.Data = data
		msg.Header.Set(nats.MsgIdHdr, ev.ID)
		sent[ev.ID] = time.Now()
		if _, err := s.env.js.PublishMsgAsync(msg); err != nil {
			return nil, fmt.Errorf("priority bench: publish: %w", err)
		}
	}
	select {
	case <-s.env.js.PublishAsyncComplete():
		return sent, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("priority bench: publish: %w", ctx.Err())
	}
}

// genLevelNodes generates node_added events of distinct nodes, ids
// bench-<level>-<i>, so that every event renders and deploys.
func genLevelNodes(p wire.Priority) func(int) (wire.ChangeEvent, []byte) {
	return func(i int) (wire.ChangeEvent, []byte) {
		ev := wire.ChangeEvent{ID: fmt.Sprintf("bench-%s-%d", p, i), ChangeType: wire.NodeAdded, Timestamp: time.Now().UTC(),
			Subject: fmt.Sprintf("urn:bench:%s%d", p, i), Source: "regen-bench",
			Properties: wire.MustProperties(map[string]any{"rdfs:label": fmt.Sprintf("Node %s %d", p, i)})}
		data, err := json.Marshal(ev)
		if err != nil {
			panic(fmt.Sprintf("benchkit: marshal a fixed event shape: %v", err)) // cannot happen
		}
		return ev, data
	}
}

// deployWatch records, per event id, the telemetry timestamp of its last
// deployment_completed.
type deployWatch struct {
	sub  *nats.Subscription
	mu   sync.Mutex
	last map[string]time.Time
}

func watchDeployed(nc *nats.Conn) (*deployWatch, error) {
	dw := &deployWatch{last: map[string]time.Time{}}
	sub, err := nc.Subscribe(wire.TelemetrySubjectFor(wire.DeploymentCompleted), dw.record)
	if err != nil {
		return nil, fmt.Errorf("priority bench: %w", err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil { // a slow consumer would drop records
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("priority bench: %w", err)
	}
	dw.sub = sub
	return dw, nil
}

func (dw *deployWatch) record(m *nats.Msg) {
	var rec struct {
		Timestamp time.Time                    `json:"timestamp"`
		Data      wire.DeploymentCompletedData `json:"data"`
	}
	if json.Unmarshal(m.Data, &rec) != nil || rec.Data.EventID == "" {
		return
	}
	dw.mu.Lock()
	defer dw.mu.Unlock()
	if at, ok := dw.last[rec.Data.EventID]; !ok || rec.Timestamp.After(at) {
		dw.last[rec.Data.EventID] = rec.Timestamp
	}
}

func (dw *deployWatch) stop() { _ = dw.sub.Unsubscribe() }

// count is how many of the events sent (critical ones) were deployed.
func (dw *deployWatch) count() int {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	n := 0
	for id := range dw.last {
		if strings.HasPrefix(id, "bench-"+string(wire.PriorityCritical)+"-") {
			n++
		}
	}
	return n
}

// latencies is each sent event's publish → last deployment, in ms.
func (dw *deployWatch) latencies(sent map[string]time.Time) []float64 {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	out := make([]float64, 0, len(sent))
	for id, at := range sent {
		out = append(out, ms(dw.last[id].Sub(at)))
	}
	return out
}

// poll checks cond every 2ms until it holds, fails, ctx ends or a
// minute passes.
func poll(ctx context.Context, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}
