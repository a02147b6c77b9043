// Package cost owns regen's cost accounting: what processing each event
// cost (the wall time of each stage, bytes rendered and deployed, KV
// operations, the CPU time of exec children), recorded by the parts that
// do the work into a Recorder carried in the event's context, and the
// Tally that adds the records up per template, deploy target, source and
// priority into one wire.CostReportData per health interval.
//
// A part that does work records it only when the context carries a
// Recorder; without one every call is a nil check:
//
//	r := cost.From(ctx) // nil outside the orchestrator
//	start := time.Now()
//	out, err := render()
//	r.Rendered(template, time.Since(start), len(out))
//
// In-process CPU time cannot be measured per event (goroutines share the
// process's CPU clock), so the Tally attributes the process's CPU time
// over each interval to the interval's events by their share of its busy
// time (Tally.Report); exec children's CPU time is exact, from their
// rusage.
package cost

import (
	"context"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Stage is one stage of an event's processing (wire.Stages names them).
type Stage uint8

// The stages, in processing order (the order of wire.Stages).
const (
	Decode Stage = iota
	Model
	Render
	Validate
	Deploy
	Ack
	numStages
)

// String is the stage's name in telemetry (wire.StageDecode ...).
func (s Stage) String() string { return wire.Stages[s] }

// Key is the context key a Recorder is carried under (From reads it).
type Key struct{}

// Part is what one template or one deploy target cost within an event:
// its wall time (render time for a template, deploy time for a target),
// for a template the CPU time its renders measured (OnThread; 0 when not
// measured), the bytes it rendered and deployed, and the exact CPU time
// of the exec children that rendered it.
type Part struct {
	Name          string
	Wall          time.Duration
	RenderCPU     time.Duration
	BytesRendered int64
	BytesOut      int64
	ChildCPU      time.Duration
}

// Record is what one event (or one group of events processed together)
// cost so far.
type Record struct {
	Stages [numStages]time.Duration
	KVOps  int64
	// RateWait is the time waited for rate-limit tokens, plus the delay of
	// a nak until a token is due.
	RateWait time.Duration
	// ChildWall and ChildCPU are the wall and CPU time of exec children:
	// their wall time is not the process's busy time.
	ChildWall, ChildCPU time.Duration
	Templates           []Part
	Targets             []Part
}

// Recorder collects one event's Record. Its methods are safe for
// concurrent use and do nothing on a nil Recorder. The orchestrator owns
// one per worker and reuses it (Reset) from event to event.
type Recorder struct {
	mu  sync.Mutex
	rec Record
}

// From returns the Recorder ctx carries, or nil.
func From(ctx context.Context) *Recorder {
	r, _ := ctx.Value(Key{}).(*Recorder)
	return r
}

// WithRecorder returns a copy of ctx carrying r (the orchestrator's hot
// path carries it in a context of its own instead, without allocating).
func WithRecorder(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, Key{}, r)
}

// AddStage adds d to stage s.
func (r *Recorder) AddStage(s Stage, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.Stages[s] += d
	r.mu.Unlock()
}

// Rendered records one render of template that took d and produced n bytes.
func (r *Recorder) Rendered(template string, d time.Duration, n int) {
	r.RenderedCPU(template, d, 0, n)
}

// RenderedCPU is Rendered for a render whose CPU time cpu was measured
// (OnThread).
func (r *Recorder) RenderedCPU(template string, d, cpu time.Duration, n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	p := part(&r.rec.Templates, template)
	p.Wall += d
	p.RenderCPU += cpu
	p.BytesRendered += int64(n)
	r.mu.Unlock()
}

// Child records an exec child that rendered template: its wall time and
// its CPU time (user and system, from its rusage).
func (r *Recorder) Child(template string, wall, cpu time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.ChildWall += wall
	r.rec.ChildCPU += cpu
	part(&r.rec.Templates, template).ChildCPU += cpu
	r.mu.Unlock()
}

// Deployed records one deploy call of an artifact of template to target
// that took d and wrote n bytes (0 for a skip or a delete).
func (r *Recorder) Deployed(target, template string, d time.Duration, n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	t := part(&r.rec.Targets, target)
	t.Wall += d
	t.BytesOut += int64(n)
	part(&r.rec.Templates, template).BytesOut += int64(n)
	r.mu.Unlock()
}

// KVOps counts n KV operations (reads, writes, deletes).
func (r *Recorder) KVOps(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.KVOps += int64(n)
	r.mu.Unlock()
}

// RateLimited records d spent waiting on a rate limit (or, for a nak,
// the delay until the token is due).
func (r *Recorder) RateLimited(d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.rec.RateWait += d
	r.mu.Unlock()
}

// Visit calls fn with the record, under the recorder's lock: fn must not
// keep it or call the recorder.
func (r *Recorder) Visit(fn func(*Record)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.rec)
}

// Reset empties the record, keeping its storage for the next event.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reset()
}

func (r *Recorder) reset() {
	clear(r.rec.Templates) // drop the names' references
	clear(r.rec.Targets)
	r.rec = Record{Templates: r.rec.Templates[:0], Targets: r.rec.Targets[:0]}
}

// part returns the part of ps named name, appending it if missing.
func part(ps *[]Part, name string) *Part {
	for i := range *ps {
		if (*ps)[i].Name == name {
			return &(*ps)[i]
		}
	}
	*ps = append(*ps, Part{Name: name})
	return &(*ps)[len(*ps)-1]
}
