package breaker

import (
	"context"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"
)

// States as returned by Guard.State and carried in StateChange.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// Counts are a circuit's call outcomes.
type Counts struct {
	// Requests counts admitted calls (in flight ones included for
	// Guard.Counts; completed ones for StateChange.Counts).
	Requests uint32 `json:"requests"`
	// TotalSuccesses counts calls that returned nil.
	TotalSuccesses uint32 `json:"total_successes"`
	// TotalFailures counts transient failures and timeouts.
	TotalFailures uint32 `json:"total_failures"`
	// TotalExclusions counts calls counted neither way: permanent errors
	// and calls cancelled by the caller.
	TotalExclusions uint32 `json:"total_exclusions"`
	// ConsecutiveSuccesses counts successes since the last failure.
	ConsecutiveSuccesses uint32 `json:"consecutive_successes"`
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
}

func countsFrom(c gobreaker.Counts) Counts {
	return Counts{
		Requests:             c.Requests,
		TotalSuccesses:       c.TotalSuccesses,
		TotalFailures:        c.TotalFailures,
		TotalExclusions:      c.TotalExclusions,
		ConsecutiveSuccesses: c.ConsecutiveSuccesses,
		ConsecutiveFailures:  c.ConsecutiveFailures,
	}
}

// StateChange describes one transition of a Guard's circuit, for the
// breaker_state_changed telemetry event.
type StateChange struct {
	// Component is the Guard's component.
	Component string `json:"component"`
	// From and To are StateClosed, StateOpen or StateHalfOpen.
	From string `json:"from"`
	To   string `json:"to"`
	// Counts are the outcomes that led to the change: the rolling-window
	// counts that tripped a closed circuit, the probes' outcomes when a
	// half-open circuit closes or reopens, zero when an open one half-opens.
	Counts Counts `json:"counts"`
	// At is when the change happened.
	At time.Time `json:"at"`
}

// record queues a state change; gobreaker calls it with its lock held, so
// it only appends, and flush delivers later.
func (g *Guard) record(_ string, from, to gobreaker.State) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if to == gobreaker.StateOpen {
		g.openedAt = now
	}
	g.state = to
	g.halfOpen.Store(to == gobreaker.StateHalfOpen)
	g.hasPending.Store(true)
	g.pending = append(g.pending, StateChange{
		Component: g.component, From: from.String(), To: to.String(), Counts: g.tally, At: now,
	})
	g.tally = Counts{}
}

// flush delivers queued state changes in order. Only one goroutine
// delivers at a time; one that finds another delivering leaves its changes
// to it, and the deliverer re-checks the queue after letting go, so no
// change is stranded and a hook calling back into the Guard cannot deadlock.
func (g *Guard) flush() {
	for g.hasPending.Load() {
		if !g.deliverMu.TryLock() {
			return
		}
		g.deliverAll()
	}
}

func (g *Guard) deliverAll() {
	defer g.deliverMu.Unlock()
	for changes := g.takePending(); len(changes) > 0; changes = g.takePending() {
		for _, sc := range changes {
			g.emit(sc)
		}
	}
}

func (g *Guard) takePending() []StateChange {
	g.mu.Lock()
	defer g.mu.Unlock()
	changes := g.pending
	g.pending = nil
	g.hasPending.Store(false)
	return changes
}

func (g *Guard) emit(sc StateChange) {
	level := slog.LevelInfo
	if sc.To == StateOpen {
		level = slog.LevelWarn
	}
	g.opts.logger.LogAttrs(context.Background(), level, "breaker state changed",
		slog.String("component", sc.Component), slog.String("from", sc.From), slog.String("to", sc.To),
		slog.Uint64("requests", uint64(sc.Counts.Requests)),
		slog.Uint64("failures", uint64(sc.Counts.TotalFailures)))
	for _, hook := range g.opts.hooks {
		hook(sc)
	}
}
