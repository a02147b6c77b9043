// Package deadline owns a cheaper context.WithTimeout for the hot path: a
// context whose timer, and its registration with the parent, are only
// created when something waits on Done.
//
// regen bounds every event, and every engine and deployer call, with a
// deadline. Most calls finish long before it, and many never wait on
// ctx.Done() at all (a no-op, a cache hit, a CPU-bound render), yet
// context.WithTimeout starts a runtime timer and registers with its parent
// each time. Here Err and Deadline answer from the clock and the parent
// until Done is first called; from then on the context is an ordinary
// context.WithDeadline.
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// WithTimeout is context.WithTimeout(parent, d) with the timer created
// lazily. The returned cancel func must be called, as with the standard
// one.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return WithDeadline(parent, time.Now().Add(d))
}

// WithDeadline is context.WithDeadline(parent, at) with the timer created
// lazily.
func WithDeadline(parent context.Context, at time.Time) (context.Context, context.CancelFunc) {
	return WithDeadlineValue(parent, at, nil)
}

// KeyValue is a value a context carries under a key, as context.WithValue
// would; Key must be comparable and not nil. Next, when not nil, is one
// more value the same context carries (a chain built once, like the
// first).
type KeyValue struct {
	Key, Val any
	Next     *KeyValue
}

// WithDeadlineValue is WithDeadline whose context also answers kv.Key with
// kv.Val, without an allocation of its own: the hot path makes one such
// context per event, from a KeyValue built once. kv may be nil.
func WithDeadlineValue(parent context.Context, at time.Time, kv *KeyValue) (context.Context, context.CancelFunc) {
	if cur, ok := parent.Deadline(); ok && cur.Before(at) {
		at = cur // the parent ends first
	}
	c := &lazyCtx{parent: parent, at: at, kv: kv}
	return c, c.cancel
}

// lazyCtx is a deadline context that becomes a real one on first need: a
// call to Done, or an Err that finds it ended. Once real, every method
// answers from the real context, so an ended context stays ended with one
// error. mu orders realising against cancel.
type lazyCtx struct {
	parent   context.Context
	at       time.Time
	kv       *KeyValue // a value of its own (WithDeadlineValue), or nil
	mu       sync.Mutex
	real     atomic.Pointer[realCtx]
	canceled atomic.Bool
}

type realCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *lazyCtx) realise() context.Context {
	if r := c.real.Load(); r != nil {
		return r.ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.real.Load(); r != nil {
		return r.ctx
	}
	ctx, cancel := context.WithDeadline(c.parent, c.at)
	if c.canceled.Load() {
		cancel()
	}
	c.real.Store(&realCtx{ctx: ctx, cancel: cancel})
	return ctx
}

// Deadline is the earlier of the parent's deadline and this one.
func (c *lazyCtx) Deadline() (time.Time, bool) { return c.at, true }

// Done makes the context real and returns its channel.
func (c *lazyCtx) Done() <-chan struct{} { return c.realise().Done() }

// Err is nil while the parent is live, the deadline ahead and cancel not
// called; otherwise the context becomes real and answers.
func (c *lazyCtx) Err() error { return c.errAt(time.Now()) }

// errAt is Err with the clock already read.
func (c *lazyCtx) errAt(now time.Time) error {
	if r := c.real.Load(); r != nil {
		return r.ctx.Err()
	}
	if !c.canceled.Load() && c.parent.Err() == nil && now.Before(c.at) {
		return nil
	}
	return c.realise().Err()
}

// ErrAt is ctx.Err() for a caller that has just read the clock (now): a
// context of this package answers from now instead of reading the clock
// again. Any other context answers ctx.Err().
func ErrAt(ctx context.Context, now time.Time) error {
	if c, ok := ctx.(*lazyCtx); ok {
		return c.errAt(now)
	}
	return ctx.Err()
}

// Value answers its own values' keys itself; any other key from the real
// context once there is one (so that contexts derived from this one
// register with it instead of watching it from a goroutine), else from the
// parent.
func (c *lazyCtx) Value(key any) any {
	for kv := c.kv; kv != nil; kv = kv.Next {
		if key == kv.Key {
			return kv.Val
		}
	}
	if r := c.real.Load(); r != nil {
		return r.ctx.Value(key)
	}
	return c.parent.Value(key)
}

func (c *lazyCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled.Store(true)
	if r := c.real.Load(); r != nil {
		r.cancel()
	}
}

// String names the context, as the standard ones do.
func (c *lazyCtx) String() string {
	return "deadline.WithDeadline(" + c.at.String() + ")"
}
