package orchestrator

import (
	"sync"
	"time"
)

// OrchestrationStats are the running totals since Start. Obtain a copy with
// Orchestrator.Stats.
type OrchestrationStats struct {
	TotalCycles            int64   `json:"total_cycles"`
	AvgCycleTimeMS         float64 `json:"avg_cycle_time_ms"`
	EventsProcessed        int64   `json:"events_processed"`
	RegenerationsTriggered int64   `json:"regenerations_triggered"`
	DeploymentsCompleted   int64   `json:"deployments_completed"`
	Failures               int64   `json:"failures"`
	Skipped                int64   `json:"skipped"`
	// Rejected counts invalid events terminated and dead-lettered (also in Failures).
	Rejected int64 `json:"rejected"`
	// Deferred counts deliveries given back untried (not failures): a circuit
	// was open, another replica held the artifact path, or the replica stopped.
	Deferred int64 `json:"deferred"`
	// DeadLettered counts events moved to the DLQ (rejected or max deliveries).
	DeadLettered int64 `json:"dead_lettered"`
	// LastCycleAt is when the last cycle finished (zero before the first).
	LastCycleAt time.Time `json:"last_cycle_at"`
	// TuningChanges counts the adaptive tuner's changes; LastTuning is the
	// latest (zero before the first).
	TuningChanges int64        `json:"tuning_changes"`
	LastTuning    TuningChange `json:"last_tuning,omitzero"`
}

// ParallelExecution records one cycle: what ran, how parallel it really
// was, and how it ended.
type ParallelExecution struct {
	ExecutionID string    `json:"execution_id"`
	StartedAt   time.Time `json:"started_at"`
	DurationMS  float64   `json:"duration_ms"`
	Events      int       `json:"events"`
	Succeeded   int       `json:"succeeded"`
	Skipped     int       `json:"skipped"`
	Failed      int       `json:"failed"`
	Rejected    int       `json:"rejected"`
	Deferred    int       `json:"deferred"`
	Deployments int       `json:"deployments"`
	// MaxConcurrent is the configured bound for this cycle.
	MaxConcurrent int `json:"max_concurrent"`
	// AchievedParallelism is the peak number of events in flight at once.
	AchievedParallelism int     `json:"achieved_parallelism"`
	EventsPerSecond     float64 `json:"events_per_second"`
}

// stats accumulates OrchestrationStats behind a mutex (updated once per
// cycle, so the lock is never hot).
type stats struct {
	mu sync.Mutex
	s  OrchestrationStats
	// recent keeps recent cycle durations for the health loop and tuner.
	recent cycleRing
}

func (st *stats) addCycle(pe ParallelExecution, regenerations int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := &st.s
	s.TotalCycles++
	s.AvgCycleTimeMS += (pe.DurationMS - s.AvgCycleTimeMS) / float64(s.TotalCycles)
	s.EventsProcessed += int64(pe.Events)
	s.RegenerationsTriggered += int64(regenerations)
	s.DeploymentsCompleted += int64(pe.Deployments)
	s.Failures += int64(pe.Failed + pe.Rejected)
	s.Skipped += int64(pe.Skipped)
	s.Rejected += int64(pe.Rejected)
	s.Deferred += int64(pe.Deferred)
	s.LastCycleAt = pe.StartedAt.Add(time.Duration(pe.DurationMS * float64(time.Millisecond)))
}

func (st *stats) addDeadLettered(n int) {
	st.mu.Lock()
	st.s.DeadLettered += int64(n)
	st.mu.Unlock()
}

func (st *stats) snapshot() OrchestrationStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}
