package observe

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/regen-dev/regen/orchestrator"
)

// Outcomes are the values of the outcome label of regen_events_total (the
// outcomes orchestrator.Observer reports); each is exported from zero.
var Outcomes = []string{"succeeded", "skipped", "failed", "rejected", "deferred"}

// Metrics is an orchestrator.Observer (and CostObserver) that turns
// outcomes, cycles and cost reports into Prometheus metrics on its own registry (never the global one), with the
// Go and process collectors. Safe for concurrent use; EventDone,
// CycleDone and CostReported never block.
type Metrics struct {
	reg          *prometheus.Registry
	events       *prometheus.CounterVec
	eventDur     prometheus.Histogram
	cycleDur     prometheus.Histogram
	cycles       prometheus.Counter
	deployments  prometheus.Counter
	rateLimited  *prometheus.CounterVec
	cost         *costMetrics
	attach       sync.Once
	attachPaused sync.Once
}

// NewMetrics registers the event and cycle metrics and the Go and process
// collectors on a fresh registry. Call Attach once the orchestrator exists
// to add the gauges read from it.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regen_events_total",
			Help: "Change event deliveries processed, by outcome."}, []string{"outcome"}),
		eventDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "regen_event_duration_seconds",
			Help: "Time to process one change event delivery.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		cycleDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "regen_cycle_duration_seconds",
			Help: "Time to run one regeneration cycle (one fetched batch).", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		cycles: prometheus.NewCounter(prometheus.CounterOpts{Name: "regen_cycles_total",
			Help: "Regeneration cycles finished."}),
		deployments: prometheus.NewCounter(prometheus.CounterOpts{Name: "regen_deployments_total",
			Help: "Artifacts deployed (skipped deployments are not counted)."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regen_rate_limited_total",
			Help: "Events that met a rate limit (waited for a token or were nak'ed until it was due), by limit."},
			[]string{"limit"}),
		cost: newCostMetrics(),
	}
	for _, o := range Outcomes {
		m.events.WithLabelValues(o)
	}
	m.reg.MustRegister(m.events, m.eventDur, m.cycleDur, m.cycles, m.deployments, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.cost.collectors()...)
	return m
}

// EventDone counts one delivery's outcome and observes its duration.
func (m *Metrics) EventDone(outcome string, d time.Duration) {
	m.events.WithLabelValues(outcome).Inc()
	m.eventDur.Observe(d.Seconds())
}

// CycleDone counts a finished cycle, its duration and its deployments.
func (m *Metrics) CycleDone(pe orchestrator.ParallelExecution) {
	m.cycles.Inc()
	m.cycleDur.Observe(pe.DurationMS / 1000)
	m.deployments.Add(float64(pe.Deployments))
}

// RateLimited counts one event that met the rate limit limit.
func (m *Metrics) RateLimited(limit string) { m.rateLimited.WithLabelValues(limit).Inc() }

// Registry returns the registry the metrics live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Attach registers the gauges read at scrape time: regen_in_flight,
// regen_concurrency, regen_batch_size and regen_breaker_state{component}
// from o, and regen_consumer_pending from pending (each scrape waits at
// most timeout for it and reports the last value read on error; nil leaves
// the gauge out). Only the first call has an effect.
func (m *Metrics) Attach(o Orchestrator, pending PendingFunc, timeout time.Duration) {
	m.attach.Do(func() {
		gauge := func(name, help string, f func() float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
		}
		m.reg.MustRegister(
			gauge("regen_in_flight", "Events being processed right now.", func() float64 { return float64(o.InFlight()) }),
			gauge("regen_concurrency", "Current bound on events in flight.", func() float64 { return float64(o.Concurrency()) }),
			gauge("regen_batch_size", "Events asked for per fetch.", func() float64 { return float64(o.BatchSize()) }),
			newBreakerCollector(o))
		if pending != nil {
			p := &pendingReader{fn: pending, timeout: timeout}
			m.reg.MustRegister(gauge("regen_consumer_pending",
				"Messages of the shared consumer not yet delivered or awaiting ack.", p.value))
		}
	})
}

// AttachPaused registers regen_consumer_paused{priority}: 1 while that
// priority level's consumer is paused (regen pause), 0 otherwise, read
// from paused[level] at scrape time like regen_consumer_pending (at most
// timeout, the last value on error). Only the first call has an effect.
func (m *Metrics) AttachPaused(paused map[string]PendingFunc, timeout time.Duration) {
	m.attachPaused.Do(func() {
		for level, fn := range paused {
			r := &pendingReader{fn: fn, timeout: timeout}
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "regen_consumer_paused",
				Help:        "1 while the priority level's consumer is paused (regen pause), else 0.",
				ConstLabels: prometheus.Labels{"priority": level}}, r.value))
		}
	})
}

// PendingFunc reports the shared consumer's pending count (undelivered plus
// awaiting ack); it must honour ctx.
type PendingFunc func(ctx context.Context) (uint64, error)

// pendingReader reads the pending count with a short timeout and keeps the
// last value that was read, so a scrape never waits long on NATS.
type pendingReader struct {
	fn      PendingFunc
	timeout time.Duration
	mu      sync.Mutex
	last    float64
}

func (p *pendingReader) value() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	n, err := p.fn(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.last = float64(n)
	}
	return p.last
}

// breakerCollector exports regen_breaker_state{component}: 0 closed,
// 1 half-open, 2 open (-1 for a state it does not know).
type breakerCollector struct {
	o    Orchestrator
	desc *prometheus.Desc
}

func newBreakerCollector(o Orchestrator) *breakerCollector {
	return &breakerCollector{o: o, desc: prometheus.NewDesc("regen_breaker_state",
		"Circuit breaker state per component: 0 closed, 1 half-open, 2 open.", []string{"component"}, nil)}
}

// Describe sends the metric's descriptor.
func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends one gauge per guarded component.
func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for comp, state := range c.o.Breakers() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, BreakerStateValue(state), comp)
	}
}

// BreakerStateValue maps a breaker state to its gauge value: "closed" 0,
// "half-open" 1, "open" 2, anything else -1.
func BreakerStateValue(state string) float64 {
	switch state {
	case "closed":
		return 0
	case "half-open":
		return 1
	case "open":
		return 2
	}
	return -1
}
