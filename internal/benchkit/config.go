package benchkit

import (
	"io"
	"log/slog"
	"time"
)

// Sizes are the workload sizes of one run. FullSizes is what the targets
// are judged on; QuickSizes is a smoke run of a few seconds.
type Sizes struct {
	// NoopEvents is the backlog of the no-op overhead comparison (regen vs
	// the plain Fetch+Ack loop), run Rounds times each, interleaved.
	NoopEvents int
	// Rounds is how many times the overhead pair is repeated (median kept).
	Rounds int
	// NoopConcurrency and NoopBatch configure regen (and the loop's batch)
	// for the no-op runs.
	NoopConcurrency, NoopBatch int
	// EfficiencySeconds is roughly how long each concurrency level runs at
	// its ideal rate (events = seconds × concurrency × 100, at least
	// EfficiencyMinEvents).
	EfficiencySeconds   float64
	EfficiencyMinEvents int
	// Concurrencies are the levels of the efficiency map.
	Concurrencies []int
	// IOWork is the engine's wait per event in the efficiency runs (10ms).
	IOWork time.Duration
	// CycleWork is the engine's wait per event in the cycle-time runs (2ms).
	CycleWork time.Duration
	// CycleConcurrency bounds the cycle-time runs (64).
	CycleConcurrency int
	// Cycles1k and Cycles10k are how many 1,000- and 10,000-event cycles
	// are timed (CycleSmall and CycleLarge events each).
	Cycles1k, Cycles10k    int
	CycleSmall, CycleLarge int
	// RSSEvents is the backlog the child process drains (100,000).
	RSSEvents int
	// RealEvents is the backlog of the end-to-end run (graph engine, dir deployer).
	RealEvents int
	// PriorityLowEvents is the low backlog of the priority scenario, queued
	// behind an engine slowed by PriorityEngineDelay a call (5ms), before
	// PriorityCriticalEvents critical events are timed.
	PriorityLowEvents, PriorityCriticalEvents int
	PriorityEngineDelay                       time.Duration
	// WatermillNoopEvents and WatermillIOEvents size the Watermill runs.
	WatermillNoopEvents, WatermillIOEvents int
	// FetchWait is the orchestrators' fetch wait. Backlogs are whole
	// batches, so it never delays a measured fetch; it only bounds how long
	// stopping an orchestrator takes (its last fetch finds nothing).
	FetchWait time.Duration
}

// FullSizes are the sizes the targets are judged on (a few minutes in all).
func FullSizes() Sizes {
	return Sizes{NoopEvents: 60_000, Rounds: 9, NoopConcurrency: 64, NoopBatch: 256,
		EfficiencySeconds: 3, EfficiencyMinEvents: 300, Concurrencies: []int{1, 8, 64, 256},
		IOWork: 10 * time.Millisecond, CycleWork: 2 * time.Millisecond, CycleConcurrency: 64,
		Cycles1k: 20, Cycles10k: 5, CycleSmall: 1_000, CycleLarge: 10_000,
		RSSEvents: 100_000, RealEvents: 2_000, WatermillNoopEvents: 10_000, WatermillIOEvents: 300,
		PriorityLowEvents: 20_000, PriorityCriticalEvents: 200, PriorityEngineDelay: 5 * time.Millisecond,
		FetchWait: 500 * time.Millisecond}
}

// QuickSizes run every scenario at tiny sizes (seconds): for smoke tests,
// not for judging targets.
func QuickSizes() Sizes {
	return Sizes{NoopEvents: 300, Rounds: 1, NoopConcurrency: 16, NoopBatch: 64,
		EfficiencySeconds: 0.05, EfficiencyMinEvents: 8, Concurrencies: []int{1, 8, 64, 256},
		IOWork: 10 * time.Millisecond, CycleWork: 2 * time.Millisecond, CycleConcurrency: 64,
		Cycles1k: 2, Cycles10k: 1, CycleSmall: 100, CycleLarge: 300,
		RSSEvents: 500, RealEvents: 20, WatermillNoopEvents: 50, WatermillIOEvents: 10,
		PriorityLowEvents: 2_000, PriorityCriticalEvents: 20, PriorityEngineDelay: 5 * time.Millisecond,
		FetchWait: 50 * time.Millisecond}
}

// Config is one run of the suite.
type Config struct {
	// Sizes of the workloads (FullSizes when zero).
	Sizes Sizes
	// Quick marks a run at QuickSizes: its figures are not judged.
	Quick bool
	// ChildCommand is the argv of the process measured for rss_mb_100k;
	// it is started with ChildEnv set and must call RunChild. Empty skips
	// the measurement (reported as null with the reason).
	ChildCommand []string
	// WatermillDir is the bench/watermill module; empty skips Watermill
	// (ratios reported as null with the reason).
	WatermillDir string
	// Templates is the example templates directory for the end-to-end run.
	Templates string
	// GraphTemplates and GraphVocabulary are the whole-model scenario's
	// templates (examples/gopkg/templates) and the vocabulary it loads
	// (examples/gopkg/testdata/prov.jsonl, the largest); empty
	// GraphTemplates skips it.
	GraphTemplates, GraphVocabulary string
	// Progress receives one line per scenario (nil: none).
	Progress io.Writer
	// Logger is the orchestrators' logger (default: discard).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Sizes.NoopEvents == 0 {
		c.Sizes = FullSizes()
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.GraphVocabulary == "" {
		c.GraphVocabulary = "examples/gopkg/testdata/prov.jsonl"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Scaled returns z with every event count multiplied by f (at least 1
// event, or one cycle): a faster, noisier run.
func (z Sizes) Scaled(f float64) Sizes {
	n := func(v int) int { return max(int(float64(v)*f), 1) }
	z.NoopEvents, z.EfficiencyMinEvents = n(z.NoopEvents), n(z.EfficiencyMinEvents)
	z.EfficiencySeconds *= f
	z.Cycles1k, z.Cycles10k = n(z.Cycles1k), n(z.Cycles10k)
	z.RSSEvents, z.RealEvents = n(z.RSSEvents), n(z.RealEvents)
	z.WatermillNoopEvents, z.WatermillIOEvents = n(z.WatermillNoopEvents), n(z.WatermillIOEvents)
	z.PriorityLowEvents, z.PriorityCriticalEvents = n(z.PriorityLowEvents), n(z.PriorityCriticalEvents)
	return z
}
