package observe

import (
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/regen-dev/regen/orchestrator"
)

// ReplicaStats is one replica's snapshot in the REGEN_REPLICAS bucket
// (wire schema v1, printed by `regen stats --json`).
type ReplicaStats struct {
	Replica     string    `json:"replica"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	UptimeS     float64   `json:"uptime_s"`
	Running     bool      `json:"running"`
	Concurrency int       `json:"concurrency"`
	BatchSize   int       `json:"batch_size"`
	InFlight    int       `json:"in_flight"`
	// Stats are the orchestrator's running totals since it started.
	Stats orchestrator.OrchestrationStats `json:"stats"`
	// Breakers maps component to "closed", "half-open" or "open".
	Breakers map[string]string `json:"breakers"`
	// LastExecution is the last finished cycle (absent before the first).
	LastExecution *orchestrator.ParallelExecution `json:"last_execution,omitempty"`
	// Capacity is what the replica drains, for the leader's cluster
	// scaling advice (absent when the orchestrator does not say).
	Capacity *orchestrator.Capacity `json:"capacity,omitempty"`
}

// CapacityReader is an Orchestrator that reports its Capacity
// (*orchestrator.Orchestrator is one); the snapshot then carries it.
type CapacityReader interface {
	Capacity() orchestrator.Capacity
}

// Totals sums the replicas' snapshots.
type Totals struct {
	Replicas               int   `json:"replicas"`
	Concurrency            int   `json:"concurrency"`
	InFlight               int   `json:"in_flight"`
	TotalCycles            int64 `json:"total_cycles"`
	EventsProcessed        int64 `json:"events_processed"`
	RegenerationsTriggered int64 `json:"regenerations_triggered"`
	DeploymentsCompleted   int64 `json:"deployments_completed"`
	Failures               int64 `json:"failures"`
	Skipped                int64 `json:"skipped"`
	Rejected               int64 `json:"rejected"`
	Deferred               int64 `json:"deferred"`
	DeadLettered           int64 `json:"dead_lettered"`
	// OpenBreakers counts circuits not closed across all replicas.
	OpenBreakers int `json:"open_breakers"`
	// AvgCycleTimeMS is the cycle-weighted average over the replicas.
	AvgCycleTimeMS float64 `json:"avg_cycle_time_ms"`
}

// Sum returns the totals of rs.
func Sum(rs []ReplicaStats) Totals {
	var t Totals
	var cycleMS float64
	for _, r := range rs {
		s := r.Stats
		t.Replicas++
		t.Concurrency += r.Concurrency
		t.InFlight += r.InFlight
		t.TotalCycles += s.TotalCycles
		t.EventsProcessed += s.EventsProcessed
		t.RegenerationsTriggered += s.RegenerationsTriggered
		t.DeploymentsCompleted += s.DeploymentsCompleted
		t.Failures += s.Failures
		t.Skipped += s.Skipped
		t.Rejected += s.Rejected
		t.Deferred += s.Deferred
		t.DeadLettered += s.DeadLettered
		cycleMS += s.AvgCycleTimeMS * float64(s.TotalCycles)
		for _, st := range r.Breakers {
			if st != "closed" {
				t.OpenBreakers++
			}
		}
	}
	if t.TotalCycles > 0 {
		t.AvgCycleTimeMS = cycleMS / float64(t.TotalCycles)
	}
	return t
}

// snapshot reads o into a ReplicaStats.
func snapshot(o Orchestrator, id identity, now time.Time) ReplicaStats {
	rs := ReplicaStats{
		Replica: id.replica, Host: id.host, PID: id.pid, Version: id.version,
		StartedAt: id.startedAt, UpdatedAt: now.UTC(), UptimeS: now.Sub(id.startedAt).Seconds(),
		Running: o.IsRunning(), Concurrency: o.Concurrency(), BatchSize: o.BatchSize(), InFlight: o.InFlight(),
		Stats: o.Stats(), Breakers: o.Breakers(), LastExecution: o.LastExecution(),
	}
	if c, ok := o.(CapacityReader); ok {
		cp := c.Capacity()
		rs.Capacity = &cp
	}
	return rs
}

// identity is what does not change while a replica runs.
type identity struct {
	replica, host, version string
	pid                    int
	startedAt              time.Time
}

func newIdentity(replica, version string, now time.Time) identity {
	host, _ := os.Hostname()
	if version == "" {
		version = BuildVersion()
	}
	return identity{replica: replica, host: host, version: version, pid: os.Getpid(), startedAt: now.UTC()}
}

// BuildVersion is the main module's version from the build info ("dev"
// for a development build).
func BuildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ReplicaKey turns a replica id into a valid KV key: characters outside
// [A-Za-z0-9_=-] become '_' (dots too, so a key is one token).
func ReplicaKey(replica string) string {
	key := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '=':
			return r
		}
		return '_'
	}, replica)
	if key == "" {
		return "_"
	}
	return key
}
