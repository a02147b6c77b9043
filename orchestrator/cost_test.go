package orchestrator

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/ratelimit"
	"github.com/regen-dev/regen/internal/testkit"
)

// costEngine records one render of template "t" of 5 bytes per change in
// the event context's recorder, as the graph engine does.
type costEngine struct{}

func (costEngine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	cost.From(ctx).Rendered("t", time.Millisecond, 5)
	return []wire.Artifact{{Path: "out/" + ch.Event.ID, Template: "t", Hash: "h"}}, nil
}

// Each health interval publishes a cost_report of the events finished
// since the previous one: the engine's records, the decode and ack
// stages, grouped by source and by the priority of the subject.
func TestHealthPublishesCostReports(t *testing.T) {
	t.Parallel()
	src, tel := &fakeSource{}, &fakeTelemetry{}
	o, err := New(healthCfg(func(*Config) {}), Deps{Source: src, Engine: costEngine{}, Deployer: &fakeDeployer{},
		Telemetry: tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		src.push(validMsg(i))
	}
	var sum wire.CostReportData
	testkit.WaitFor(t, waitLimit, "cost reports covering every event and its ack", func() bool {
		sum = sumCostReports(tel.ofType(wire.CostReport))
		return sum.Total.Events == n && sum.Total.StageSeconds[wire.StageAck] > 0
	})
	if sum.ByTemplate["t"].BytesRendered != 5*n || sum.ByPriority["normal"].Events != n ||
		sum.BySource[cost.None].Events != n || sum.Total.StageSeconds[wire.StageDecode] <= 0 {
		t.Fatalf("summed cost reports = %+v", sum)
	}
}

// sumCostReports adds the reports' totals up (CPU and wall included).
func sumCostReports(evs []wire.TelemetryEvent) wire.CostReportData {
	sum := wire.CostReportData{ByTemplate: map[string]wire.CostTotals{}, BySource: map[string]wire.CostTotals{},
		ByPriority: map[string]wire.CostTotals{}, ByTarget: map[string]wire.CostTotals{}}
	add := func(into, from map[string]wire.CostTotals) {
		for k, v := range from {
			t := into[k]
			t.Add(v)
			into[k] = t
		}
	}
	for _, ev := range evs {
		r := ev.Data.(wire.CostReportData)
		sum.Total.Add(r.Total)
		add(sum.ByTemplate, r.ByTemplate)
		add(sum.BySource, r.BySource)
		add(sum.ByPriority, r.ByPriority)
		add(sum.ByTarget, r.ByTarget)
	}
	return sum
}

// A group of events processed together counts every one of its events.
func TestGroupedCycleCountsEveryEventsCost(t *testing.T) {
	t.Parallel()
	b := setupGroup(t, func(*Config) {})
	b.cycle(nodeMsg(1, "A"), nodeMsg(2, "A"), nodeMsg(3, "B"))
	rep := b.o.cost.Report(time.Now(), 0, false)
	if rep.Total.Events != 3 || rep.ByPriority["normal"].Events != 3 || rep.Total.StageSeconds[wire.StageDecode] <= 0 {
		t.Fatalf("report = %+v, want 3 events decoded", rep)
	}
}

func TestCostBound(t *testing.T) {
	t.Parallel()
	rep := func(mod func(r *wire.CostReportData)) wire.CostReportData {
		r := wire.CostReportData{IntervalSeconds: 10, ProcessCPUSeconds: 2,
			Total:    wire.CostTotals{CPUSeconds: 2, WallSeconds: 10, StageSeconds: map[string]float64{wire.StageRender: 10}},
			ByTarget: map[string]wire.CostTotals{"dir:fast": {Events: 10, WallSeconds: 1}, "dir:slow": {Events: 10, WallSeconds: 9}}}
		mod(&r)
		return r
	}
	tests := []struct {
		name, want string
		rep        wire.CostReportData
	}{
		{"idle", "", wire.CostReportData{}},
		{"neither", "", rep(func(*wire.CostReportData) {})},
		{"every core busy", boundCPU, rep(func(r *wire.CostReportData) { r.ProcessCPUSeconds = 17 })},
		{"children's CPU counts", boundCPU, rep(func(r *wire.CostReportData) { r.ChildCPUSeconds = 14 })},
		{"CPU carried from earlier intervals does not", "", rep(func(r *wire.CostReportData) { r.Total.CPUSeconds = 30 })},
		{"waits on rate limits", boundRateLimit, rep(func(r *wire.CostReportData) { r.RateLimitSeconds = 10 })},
		{"short waits on rate limits", "", rep(func(r *wire.CostReportData) { r.RateLimitSeconds = 5 })},
		{"deploy takes most of the time", boundTarget, rep(func(r *wire.CostReportData) {
			r.Total.StageSeconds[wire.StageDeploy] = 6
		})},
		{"CPU wins over the target", boundCPU, rep(func(r *wire.CostReportData) {
			r.Total.StageSeconds[wire.StageDeploy], r.ProcessCPUSeconds = 6, 19
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bound, reason := costBound(tt.rep, 2)
			if bound != tt.want || (bound == "") != (reason == "") {
				t.Fatalf("bound = %q (%q), want %q", bound, reason, tt.want)
			}
			if bound == boundTarget && !strings.Contains(reason, "dir:slow") {
				t.Fatalf("reason %q does not name the slowest target", reason)
			}
		})
	}
}

// Bound by a rate limit or a target, the advice is the current count.
func TestAdviceWithBound(t *testing.T) {
	t.Parallel()
	a := advice{Recommended: 4, Current: 1}
	if got := a.withBound(boundCPU, "cores busy"); got.Recommended != 4 || got.telemetry().Bound != boundCPU {
		t.Fatalf("cpu-bound advice = %+v", got)
	}
	for _, b := range []string{boundRateLimit, boundTarget} {
		got := a.withBound(b, "waits").telemetry()
		if got.RecommendedReplicas != 1 || got.Bound != b || got.BoundReason != "waits" {
			t.Fatalf("%s-bound advice = %+v", b, got)
		}
	}
}

// recordingLimiter admits every event at once but records a wait of wait
// on each, as a limiter that paced it would.
type recordingLimiter struct{ wait time.Duration }

func (recordingLimiter) Empty() bool { return false }

func (l recordingLimiter) Take(ctx context.Context, _ string, _ ratelimit.Ref, _ time.Duration) error {
	cost.From(ctx).RateLimited(l.wait)
	return nil
}

// A replica whose events mostly wait on rate limits is told that more
// replicas would not help: the advice is bound by the rate limit and
// recommends the current count.
func TestScalingAdviceBoundByARateLimit(t *testing.T) {
	t.Parallel()
	src, tel := &streamSource{}, &fakeTelemetry{}
	eng := &loadEngine{}
	o, err := New(healthCfg(func(c *Config) { c.MaxConcurrent, c.BatchSize = 2, 4 }), Deps{Source: src, Engine: eng,
		Deployer: nopDeployer{}, Telemetry: tel, RateLimits: recordingLimiter{wait: time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop(context.Background()) })
	eng.latency.Store(int64(time.Millisecond))
	src.growth.Store(1_000_000)
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitLimit, "scaling advice bound by the rate limit", func() bool {
		for _, ev := range tel.ofType(wire.ScalingAdvice) {
			if d := ev.Data.(wire.ScalingAdviceData); d.Bound == boundRateLimit {
				return d.RecommendedReplicas == d.CurrentReplicasEstimate && d.BoundReason != ""
			}
		}
		return false
	})
}
