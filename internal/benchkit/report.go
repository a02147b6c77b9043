package benchkit

// Report is one run of the suite. The top-level figures are the ones the
// targets are judged on; Detail holds the absolute numbers behind them.
// A nil ratio means it could not be measured; the reason is in Errors.
type Report struct {
	// OverheadRatio is regen's no-op events/s ÷ the plain Fetch+Ack loop's.
	OverheadRatio float64 `json:"overhead_ratio"`
	// Efficiency maps a concurrency to events/s ÷ (concurrency × 1/IOWork).
	Efficiency map[string]float64 `json:"efficiency"`
	// P95CycleMS1000 and P95CycleMS10000 are p95 cycle times of
	// 1,000- and 10,000-event cycles (2ms engine, concurrency 64).
	P95CycleMS1000  float64 `json:"p95_cycle_ms_1000"`
	P95CycleMS10000 float64 `json:"p95_cycle_ms_10000"`
	// WatermillRatioNoop and WatermillRatioIO64 are regen ÷ Watermill.
	WatermillRatioNoop *float64 `json:"watermill_ratio_noop"`
	WatermillRatioIO64 *float64 `json:"watermill_ratio_io64"`
	// RSSMB100k is the peak RSS (VmHWM) of a regen process draining the RSS backlog.
	RSSMB100k *float64 `json:"rss_mb_100k"`
	// EventsPerSReal is end to end: graph engine, example templates, dir deployer.
	EventsPerSReal float64 `json:"events_per_s_real"`
	// LoadVsRenderRatio is the drain of the largest vocabulary through a
	// replica ÷ `regen render` of the same events.
	LoadVsRenderRatio *float64 `json:"load_vs_render_ratio"`
	// ChangeP99MS is the p99 of publish → done of one property change on
	// the loaded model (the artifacts it touched rendered and deployed).
	ChangeP99MS *float64 `json:"change_p99_ms"`
	// PriorityP99MSCriticalUnderLoad is the p99 of publish → done (last
	// artifact deployed) of critical events published behind a backlog of
	// low ones and a slow engine, priority levels on;
	// PriorityP99MSCriticalIdle the same on an idle replica.
	PriorityP99MSCriticalUnderLoad *float64 `json:"priority_p99_ms_critical_under_load"`
	PriorityP99MSCriticalIdle      *float64 `json:"priority_p99_ms_critical_idle"`
	// Targets says, per figure, what it must reach and whether it did.
	Targets []Target `json:"targets"`
	// Detail holds the absolute figures and run parameters.
	Detail Detail `json:"detail"`
	// Errors explains every figure that is null.
	Errors map[string]string `json:"errors,omitempty"`
	// Machine is where it ran.
	Machine Machine `json:"machine"`
}

// Target is one of the targets and the verdict of this run.
type Target struct {
	Key    string `json:"key"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Met    bool   `json:"met"`
	Judged bool   `json:"judged"` // false for quick runs and missing figures
}

// Detail holds the absolute figures behind the ratios.
type Detail struct {
	Quick               bool      `json:"quick"`
	BaselineEventsPerS  []float64 `json:"baseline_events_per_s"`
	RegenNoopEventsPerS []float64 `json:"regen_noop_events_per_s"`
	OverheadRatios      []float64 `json:"overhead_ratios"`
	// RegenNoopAsyncAckEventsPerS is regen no-op with unconfirmed acks
	// (SourceConfig.AsyncAck): what confirmation costs. Context only.
	RegenNoopAsyncAckEventsPerS float64            `json:"regen_noop_async_ack_events_per_s"`
	NoopEvents                  int                `json:"noop_events"`
	NoopConcurrency             int                `json:"noop_concurrency"`
	NoopBatch                   int                `json:"noop_batch"`
	EfficiencyEventsPerS        map[string]float64 `json:"efficiency_events_per_s"`
	EfficiencyEvents            map[string]int     `json:"efficiency_events"`
	Cycles1000                  CycleStats         `json:"cycles_1000"`
	Cycles10000                 CycleStats         `json:"cycles_10000"`
	WatermillNoopEventsPerS     float64            `json:"watermill_noop_events_per_s,omitempty"`
	WatermillIOEventsPerS       float64            `json:"watermill_io_events_per_s,omitempty"`
	WatermillVersions           string             `json:"watermill_versions,omitempty"`
	RSS                         RSSDetail          `json:"rss"`
	RealEvents                  int                `json:"real_events"`
	Graph                       GraphDetail        `json:"graph"`
	Priority                    PriorityDetail     `json:"priority"`
	Seconds                     float64            `json:"seconds"`
}

// CycleStats summarises timed cycles.
type CycleStats struct {
	Cycles      int     `json:"cycles"`
	EventsEach  int     `json:"events_each"`
	P50MS       float64 `json:"p50_ms"`
	P95MS       float64 `json:"p95_ms"`
	MaxMS       float64 `json:"max_ms"`
	Parallelism int     `json:"achieved_parallelism"`
}

// RSSDetail is what the child process drain measured.
type RSSDetail struct {
	Events           int       `json:"events"`
	Seconds          float64   `json:"seconds"`
	PeakMB           float64   `json:"peak_mb"`
	EarlyMB          float64   `json:"early_mb"`
	EndMB            float64   `json:"end_mb"`
	SamplesMB        []float64 `json:"samples_mb"`
	GoroutinesBefore int       `json:"goroutines_before"`
	GoroutinesAfter  int       `json:"goroutines_after"`
}
