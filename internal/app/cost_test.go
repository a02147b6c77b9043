package app

import (
	"encoding/json"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

// costReports sums the cost_report telemetry published on nc.
type costReports struct {
	mu  sync.Mutex
	sum wire.CostReportData
}

func watchCostReports(t *testing.T, nc *nats.Conn) *costReports {
	t.Helper()
	cr := &costReports{sum: wire.CostReportData{ByTemplate: map[string]wire.CostTotals{},
		ByTarget: map[string]wire.CostTotals{}, ByPriority: map[string]wire.CostTotals{}}}
	sub, err := nc.Subscribe(wire.TelemetrySubjectFor(wire.CostReport), func(m *nats.Msg) {
		var ev wire.TelemetryEnvelope[wire.CostReportData]
		if json.Unmarshal(m.Data, &ev) != nil {
			return
		}
		cr.add(ev.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return cr
}

func (cr *costReports) add(r wire.CostReportData) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.sum.Total.Add(r.Total)
	cr.sum.ProcessCPUSeconds += r.ProcessCPUSeconds
	for into, from := range map[*map[string]wire.CostTotals]map[string]wire.CostTotals{
		&cr.sum.ByTemplate: r.ByTemplate, &cr.sum.ByTarget: r.ByTarget, &cr.sum.ByPriority: r.ByPriority} {
		for k, v := range from {
			t := (*into)[k]
			t.Add(v)
			(*into)[k] = t
		}
	}
}

// snapshot is a copy of the sums so far.
func (cr *costReports) snapshot() wire.CostReportData {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	s := cr.sum
	s.ByTemplate, s.ByTarget, s.ByPriority = maps.Clone(s.ByTemplate), maps.Clone(s.ByTarget), maps.Clone(s.ByPriority)
	return s
}

// Two templates render the same nodes, one doing ten times the work of
// the other: the cost reports show ten times the CPU for it (±30%), the
// events under their priority and target, and the cost counters follow.
func TestCostReportsAttributeCPUToTheDearTemplate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, iterations := range map[string]int{"cheap": 800, "dear": 8_000} {
		if err := os.WriteFile(filepath.Join(dir, name+".tmpl"), []byte(testkit.CostTemplate(name, iterations)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t, func(c *config.Config) {
		c.Templates = dir
		c.Orchestrator.HealthCheckInterval = 200 * time.Millisecond
		c.Orchestrator.AdaptiveOptimization = false
	})
	reports := watchCostReports(t, b.nc)
	svc := b.start(t)
	const n = 150
	publishAt(t, b.js, wire.PriorityNormal, n)
	var sum wire.CostReportData
	testkit.WaitFor(t, 60*time.Second, "cost reports covering every event", func() bool {
		sum = reports.snapshot()
		return sum.ByTemplate["dear"].Events >= n && sum.ByTemplate["cheap"].Events >= n
	})
	cheap, dear := sum.ByTemplate["cheap"], sum.ByTemplate["dear"]
	t.Logf("cheap %+v, dear %+v, process CPU %.2fs", cheap, dear, sum.ProcessCPUSeconds)
	if ratio := dear.CPUSeconds / cheap.CPUSeconds; ratio < 7 || ratio > 13 {
		t.Fatalf("dear/cheap CPU = %.2f (%.3fs / %.3fs), want 10 ± 30%%", ratio, dear.CPUSeconds, cheap.CPUSeconds)
	}
	if sum.ByPriority["normal"].Events < n || sum.ByTarget["dir:"+b.out].BytesOut == 0 || dear.KVOps == 0 ||
		sum.Total.StageSeconds[wire.StageRender] <= 0 || sum.Total.StageSeconds[wire.StageAck] <= 0 {
		t.Fatalf("summed cost reports = %+v", sum)
	}
	rec := httptest.NewRecorder()
	svc.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`regen_cost_cpu_seconds_total{template="dear"}`,
		`regen_cost_events_by_priority_total{priority="normal"}`, `regen_cost_bytes_out_by_target_total{target="dir:`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}
