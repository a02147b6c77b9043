package orchestrator

import (
	"context"
	"sync"
)

// gate bounds the events in flight across overlapping cycles to the
// current concurrency, which the tuner may change at any time. Safe for
// concurrent use.
type gate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	active int
	limit  func() int
}

func newGate(limit func() int) *gate {
	g := &gate{limit: limit}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// acquire waits for a free slot; it returns false (holding nothing) once
// ctx has ended, even if a slot is free.
func (g *gate) acquire(ctx context.Context) bool {
	g.mu.Lock()
	if ctx.Err() == nil && g.active < g.limit() {
		g.active++
		g.mu.Unlock()
		return true
	}
	g.mu.Unlock()
	return g.acquireSlow(ctx)
}

// acquireSlow waits on the condition, woken by releases, limit rises and
// the end of ctx.
func (g *gate) acquireSlow(ctx context.Context) bool {
	stop := context.AfterFunc(ctx, g.wake)
	defer stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return false
		}
		if g.active < g.limit() {
			g.active++
			return true
		}
		g.cond.Wait()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.active--
	g.mu.Unlock()
	g.cond.Signal()
}

// wake lets every waiter re-check its condition (the limit rose, or a
// context ended).
func (g *gate) wake() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cond.Broadcast()
}
