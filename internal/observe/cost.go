package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/orchestrator"
)

var _ orchestrator.CostObserver = (*Metrics)(nil)

// costMetrics are the cost accounting counters, added to from each
// cost_report (orchestrator.CostObserver). Per template:
// regen_cost_cpu_seconds_total, regen_cost_wall_seconds_total,
// regen_cost_events_total, regen_cost_bytes_rendered_total,
// regen_cost_bytes_out_total, regen_cost_kv_ops_total, each {template};
// per target, source and priority the same (bytes rendered aside) as
// regen_cost_<measure>_by_<group>_total{<group>}; then
// regen_cost_stage_seconds_total{stage}, regen_cost_process_cpu_seconds_total
// and regen_cost_rate_limit_seconds_total.
type costMetrics struct {
	template, target, source, priority costGroup
	bytesRendered                      *prometheus.CounterVec
	stage                              *prometheus.CounterVec
	processCPU, rateLimit              prometheus.Counter
}

// costGroup is the counters of one grouping of the costs.
type costGroup struct {
	cpu, wall, events, bytesOut, kvOps *prometheus.CounterVec
}

func newCostMetrics() *costMetrics {
	return &costMetrics{
		template: newCostGroup("", "template"),
		target:   newCostGroup("_by_target", "target"),
		source:   newCostGroup("_by_source", "source"),
		priority: newCostGroup("_by_priority", "priority"),
		bytesRendered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regen_cost_bytes_rendered_total",
			Help: "Bytes the templates rendered, by template."}, []string{"template"}),
		stage: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regen_cost_stage_seconds_total",
			Help: "Wall time of the events' processing stages, by stage."}, []string{"stage"}),
		processCPU: prometheus.NewCounter(prometheus.CounterOpts{Name: "regen_cost_process_cpu_seconds_total",
			Help: "The replica process's own CPU time (exec children excluded), as the cost reports measured it."}),
		rateLimit: prometheus.NewCounter(prometheus.CounterOpts{Name: "regen_cost_rate_limit_seconds_total",
			Help: "Time events waited on rate limits (or were nak'ed for, until a token was due)."}),
	}
}

// newCostGroup builds the counters of one grouping: suffix follows the
// measure in each name ("" for templates), label names the group.
func newCostGroup(suffix, label string) costGroup {
	vec := func(measure, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "regen_cost_" + measure + suffix + "_total",
			Help: help + ", by " + label + "."}, []string{label})
	}
	return costGroup{
		cpu:      vec("cpu_seconds", "CPU time attributed to events (exact for exec children, by share of busy time for in-process work)"),
		wall:     vec("wall_seconds", "Wall time of the events' processing stages"),
		events:   vec("events", "Events processed"),
		bytesOut: vec("bytes_out", "Bytes deployed"),
		kvOps:    vec("kv_ops", "KV operations (model, read sets, ledger)"),
	}
}

func (g costGroup) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.cpu, g.wall, g.events, g.bytesOut, g.kvOps}
}

func (c *costMetrics) collectors() []prometheus.Collector {
	out := []prometheus.Collector{c.bytesRendered, c.stage, c.processCPU, c.rateLimit}
	for _, g := range []costGroup{c.template, c.target, c.source, c.priority} {
		out = append(out, g.collectors()...)
	}
	return out
}

// add adds the totals of each group of one report.
func (g costGroup) add(by map[string]wire.CostTotals) {
	for name, t := range by {
		g.cpu.WithLabelValues(name).Add(t.CPUSeconds)
		g.wall.WithLabelValues(name).Add(t.WallSeconds)
		g.events.WithLabelValues(name).Add(float64(t.Events))
		g.bytesOut.WithLabelValues(name).Add(float64(t.BytesOut))
		g.kvOps.WithLabelValues(name).Add(float64(t.KVOps))
	}
}

// CostReported adds one cost_report (deltas) to the cost counters.
func (m *Metrics) CostReported(r wire.CostReportData) {
	c := m.cost
	c.template.add(r.ByTemplate)
	c.target.add(r.ByTarget)
	c.source.add(r.BySource)
	c.priority.add(r.ByPriority)
	for name, t := range r.ByTemplate {
		c.bytesRendered.WithLabelValues(name).Add(float64(t.BytesRendered))
	}
	for stage, s := range r.Total.StageSeconds {
		c.stage.WithLabelValues(stage).Add(s)
	}
	c.processCPU.Add(r.ProcessCPUSeconds)
	c.rateLimit.Add(r.RateLimitSeconds)
}
