package observe

import "github.com/regen-dev/regen/orchestrator"

// Orchestrator is what observe reads from a running orchestrator
// (*orchestrator.Orchestrator is one). Every method must be safe to call
// from any goroutine at any time and return quickly.
type Orchestrator interface {
	InFlight() int
	Concurrency() int
	BatchSize() int
	// Breakers maps component to "closed", "half-open" or "open".
	Breakers() map[string]string
	Stats() orchestrator.OrchestrationStats
	LastExecution() *orchestrator.ParallelExecution
	IsRunning() bool
}

var (
	_ Orchestrator   = (*orchestrator.Orchestrator)(nil)
	_ CapacityReader = (*orchestrator.Orchestrator)(nil)
)
