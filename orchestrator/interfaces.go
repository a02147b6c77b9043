package orchestrator

import (
	"context"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Source hands out batches of delivered change events. Fetch is called
// from up to two goroutines at once (the fetches running ahead of the
// loop); the returned messages are acked from many.
type Source interface {
	// Fetch returns up to max messages, waiting at most wait for the
	// first. An empty batch with a nil error means nothing arrived.
	Fetch(ctx context.Context, max int, wait time.Duration) ([]wire.Message, error)
	// Pending counts messages not yet delivered or not yet acked.
	Pending(ctx context.Context) (uint64, error)
}

// Releaser is a Source that can hold delivered messages between fetches
// (PrioritySource). When the loop ends it calls Release and gives back
// (naks) what it returns.
type Releaser interface {
	Release() []wire.Message
}

// Engine regenerates the artifacts a change affects. It must be safe for
// concurrent calls and honour ctx. Errors matching wire.ErrPermanent are
// never retried (the event is dead-lettered at once); errors matching
// wire.ErrDeferred give the event back without spending its budget.
type Engine interface {
	Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error)
}

// GroupEngine is an Engine that can apply several changes at once and
// render what they affect once (coalescing). The orchestrator uses it when
// the Engine implements it.
type GroupEngine interface {
	Engine
	// GroupKey is the key the events of one batch are grouped by: events
	// with the same non-empty key go to one RegenerateGroup call, in
	// stream-sequence order. "" means the event is never grouped.
	GroupKey(ev wire.ChangeEvent) string
	// RegenerateGroup applies chs together and returns the artifacts of
	// the whole group and, for each change, its own error (errs[i] for
	// chs[i]; nil: the change was applied, and its outcome follows the
	// group's deploy). A non-nil err fails every change of the group, as
	// Regenerate's error would fail its one change.
	RegenerateGroup(ctx context.Context, chs []wire.Change) (arts []wire.Artifact, errs []error, err error)
}

// Deployer deploys one artifact. deployed=false means it was skipped
// because the same content (or a newer revision) is already deployed. It
// must be safe for concurrent calls and idempotent. A deployer that is
// about to write calls wire.DeployStarted(ctx) first, from within Deploy
// (the orchestrator publishes deployment_started then); a skip does not.
type Deployer interface {
	Deploy(ctx context.Context, a wire.Artifact) (deployed bool, err error)
}

// Telemetry publishes telemetry events without blocking on the network.
type Telemetry interface {
	Publish(ev wire.TelemetryEvent) error
	Flush(ctx context.Context) error
}

// DeadLetterer stores a copy of a message that will never succeed. It
// returns only after the copy is durably stored.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, m wire.Message, reason string, cause error) error
}

// AttemptLog records, by stream sequence, the deliveries of an event that
// did not settle it, so that its delivery budget (Config.MaxDeliver)
// counts failures and deliveries that ended without an outcome (a crash),
// never deferrals. It is called only off the success path. Safe for
// concurrent use (bus.Attempts is one).
type AttemptLog interface {
	// Deferred records a delivery given back untried.
	Deferred(ctx context.Context, seq uint64) (wire.Attempts, error)
	// Failed records a transient failure.
	Failed(ctx context.Context, seq uint64, cause error) (wire.Attempts, error)
	// Get returns the record (zero when there is none).
	Get(ctx context.Context, seq uint64) (wire.Attempts, error)
}

// Guard wraps calls to one component with circuit breaking, retry and a
// timeout (see package breaker). The zero Deps use a pass-through guard.
type Guard interface {
	Do(ctx context.Context, fn func(ctx context.Context) error) error
}

// passGuard calls fn directly: the seam when no breaker is configured.
type passGuard struct{}

func (passGuard) Do(ctx context.Context, fn func(ctx context.Context) error) error { return fn(ctx) }

// Observer sees every event outcome and every finished cycle as it happens
// (Prometheus metrics hang off it); one that is also a CostObserver gets
// each cost_report. Calls come from many goroutines at once and must not
// block.
type Observer interface {
	// EventDone reports one delivery's outcome ("succeeded", "skipped",
	// "failed", "rejected", "deferred") and how long it took.
	EventDone(outcome string, d time.Duration)
	// CycleDone reports a finished cycle.
	CycleDone(pe ParallelExecution)
}

type nopObserver struct{}

func (nopObserver) EventDone(string, time.Duration) {}
func (nopObserver) CycleDone(ParallelExecution)     {}

// StatefulGuard is a Guard that can report its circuit state (the breaker
// package's Guard is one); the health loop and stats show these states.
type StatefulGuard interface {
	Guard
	Component() string
	State() string
}
