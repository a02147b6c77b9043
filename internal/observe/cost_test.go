package observe_test

import (
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/observe"
)

// Each cost_report's deltas add to the cost counters.
func TestCostReportsAddToTheCostCounters(t *testing.T) {
	t.Parallel()
	m := observe.NewMetrics()
	rep := wire.CostReportData{ProcessCPUSeconds: 2, RateLimitSeconds: 0.5,
		Total:      wire.CostTotals{Events: 3, StageSeconds: map[string]float64{wire.StageRender: 1.5}},
		ByTemplate: map[string]wire.CostTotals{"dear": {Events: 3, CPUSeconds: 1.25, WallSeconds: 2, BytesRendered: 10, BytesOut: 7, KVOps: 4}},
		ByTarget:   map[string]wire.CostTotals{"dir:out": {Events: 3, BytesOut: 7}},
		BySource:   map[string]wire.CostTotals{"crm": {Events: 2, CPUSeconds: 1}},
		ByPriority: map[string]wire.CostTotals{"high": {Events: 3}}}
	m.CostReported(rep)
	m.CostReported(rep)
	fams := gather(t, m)
	for _, c := range []struct {
		name  string
		label []string
		want  float64
	}{
		{"regen_cost_cpu_seconds_total", []string{"template", "dear"}, 2.5},
		{"regen_cost_wall_seconds_total", []string{"template", "dear"}, 4},
		{"regen_cost_bytes_rendered_total", []string{"template", "dear"}, 20},
		{"regen_cost_bytes_out_total", []string{"template", "dear"}, 14},
		{"regen_cost_kv_ops_total", []string{"template", "dear"}, 8},
		{"regen_cost_bytes_out_by_target_total", []string{"target", "dir:out"}, 14},
		{"regen_cost_cpu_seconds_by_source_total", []string{"source", "crm"}, 2},
		{"regen_cost_events_by_priority_total", []string{"priority", "high"}, 6},
		{"regen_cost_stage_seconds_total", []string{"stage", "render"}, 3},
		{"regen_cost_process_cpu_seconds_total", nil, 4},
		{"regen_cost_rate_limit_seconds_total", nil, 1},
	} {
		if got := value(t, fams, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}
}
