package observe_test

import (
	"context"
	"errors"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/orchestrator"
)

// gather returns every metric of m by family name.
func gather(t *testing.T, m *observe.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value returns the value of the sample of family name whose labels
// include want (label=value pairs).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	mf, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with %v", name, want)
	return 0
}

func TestMetricsCountOutcomesCyclesAndDeployments(t *testing.T) {
	t.Parallel()
	m := observe.NewMetrics()
	var _ orchestrator.Observer = m
	for range 3 {
		m.EventDone("succeeded", 20*time.Millisecond)
	}
	m.EventDone("failed", time.Second)
	m.CycleDone(orchestrator.ParallelExecution{DurationMS: 150, Deployments: 4})
	m.CycleDone(orchestrator.ParallelExecution{DurationMS: 50, Deployments: 1})
	f := gather(t, m)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"regen_events_total", []string{"outcome", "succeeded"}, 3},
		{"regen_events_total", []string{"outcome", "failed"}, 1},
		{"regen_events_total", []string{"outcome", "deferred"}, 0},
		{"regen_event_duration_seconds", nil, 4},
		{"regen_cycle_duration_seconds", nil, 2},
		{"regen_cycles_total", nil, 2},
		{"regen_deployments_total", nil, 5},
	}
	for _, c := range checks {
		if got := value(t, f, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, ok := f["go_goroutines"]; !ok {
		t.Error("no Go collector metrics")
	}
}

func TestAttachedGaugesReadTheOrchestrator(t *testing.T) {
	t.Parallel()
	m := observe.NewMetrics()
	o := &fakeOrch{breakers: map[string]string{"engine": "closed", "deployer": "open"}}
	m.Attach(o, func(context.Context) (uint64, error) { return 42, nil }, time.Second)
	m.Attach(o, nil, time.Second) // a second Attach has no effect
	f := gather(t, m)
	for name, want := range map[string]float64{"regen_in_flight": 3, "regen_concurrency": 8,
		"regen_batch_size": 16, "regen_consumer_pending": 42} {
		if got := value(t, f, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, f, "regen_breaker_state", "component", "engine"); got != 0 {
		t.Errorf("engine breaker = %v, want 0 (closed)", got)
	}
	if got := value(t, f, "regen_breaker_state", "component", "deployer"); got != 2 {
		t.Errorf("deployer breaker = %v, want 2 (open)", got)
	}
}

func TestPendingGaugeNeverWaitsLongerThanItsTimeout(t *testing.T) {
	t.Parallel()
	m := observe.NewMetrics()
	calls := 0
	pending := func(ctx context.Context) (uint64, error) {
		calls++
		if calls == 1 {
			return 7, nil
		}
		<-ctx.Done() // NATS away: the read hangs until its timeout
		return 0, errors.New("timeout")
	}
	m.Attach(&fakeOrch{}, pending, 20*time.Millisecond)
	if got := value(t, gather(t, m), "regen_consumer_pending"); got != 7 {
		t.Fatalf("pending = %v, want 7", got)
	}
	start := time.Now()
	if got := value(t, gather(t, m), "regen_consumer_pending"); got != 7 {
		t.Fatalf("pending after a failed read = %v, want the last value 7", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("scrape took %s", d)
	}
}

func TestBreakerStateValue(t *testing.T) {
	t.Parallel()
	for state, want := range map[string]float64{"closed": 0, "half-open": 1, "open": 2, "weird": -1} {
		if got := observe.BreakerStateValue(state); got != want {
			t.Errorf("BreakerStateValue(%q) = %v, want %v", state, got, want)
		}
	}
}

func TestPausedGaugePerLevel(t *testing.T) {
	t.Parallel()
	m := observe.NewMetrics()
	state := func(v uint64) observe.PendingFunc { return func(context.Context) (uint64, error) { return v, nil } }
	m.AttachPaused(map[string]observe.PendingFunc{"low": state(1), "critical": state(0)}, time.Second)
	f := gather(t, m)
	if got := value(t, f, "regen_consumer_paused", "priority", "low"); got != 1 {
		t.Errorf("low paused = %v, want 1", got)
	}
	if got := value(t, f, "regen_consumer_paused", "priority", "critical"); got != 0 {
		t.Errorf("critical paused = %v, want 0", got)
	}
}
