package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// LevelSource is the Source of one priority level (bus.Source is one).
// Like Source it is safe for concurrent use.
type LevelSource interface {
	Source
	// TryFetch returns up to max messages already pending, in one pull
	// that does not wait; an empty batch with a nil error means none.
	TryFetch(ctx context.Context, max int) ([]wire.Message, error)
}

// BacklogReporter is a Message that knows how many messages its level
// still had undelivered when it was delivered (JetStream's NumPending).
// PrioritySource reads it from the last message of each pull to know,
// without another round trip, whether the level still has events.
type BacklogReporter interface {
	Backlog() uint64
}

// ProbeEveryDefault is the default PrioritySource probe interval: a level
// believed empty is pulled again at least every this many fetches.
const ProbeEveryDefault = 16

// PrioritySource is a Source over one LevelSource per priority level: each
// Fetch's max is split across the levels by a Scheduler. It pulls without
// waiting from the levels believed to have events (one pull each, run
// concurrently) and from those believed empty every ProbeEvery fetches;
// only when that finds nothing does it wait, on every level at once. A
// replica busy with one level thus makes one pull per fetch, as with a
// single consumer.
//
// The wait on an idle replica is one waiting pull per level, each running
// until its level delivers or the wait runs out. Fetch returns as soon as
// any level delivers; the other levels' pulls go on in the background, and
// what they deliver is kept (arrivals) for the start of the next Fetch, so
// a lone event of any level is handed over at once rather than after the
// slowest level's wait. Release takes what is kept when the source is no
// longer fetched from.
type PrioritySource struct {
	levels     [len(Levels)]LevelSource
	probeEvery int

	mu      sync.Mutex // guards sched, backlog, fetches, waiting
	sched   *Scheduler
	backlog [len(Levels)]uint64
	fetches int
	// waiting marks the levels with a waiting pull running; each sends
	// its result to arrivals, which has room for one per level.
	waiting  [len(Levels)]bool
	arrivals chan arrival
	waiters  sync.WaitGroup
}

// arrival is what the waiting pull of one level delivered.
type arrival struct {
	level int
	levelResult
}

// NewPrioritySource schedules levels (indexed like Levels, none nil) by
// cfg; probeEvery <= 0 is ProbeEveryDefault.
func NewPrioritySource(levels [len(Levels)]LevelSource, cfg PriorityConfig, probeEvery int) (*PrioritySource, error) {
	for i, l := range levels {
		if l == nil {
			return nil, fmt.Errorf("priority source: no source for level %s", Levels[i])
		}
	}
	sched, err := NewScheduler(cfg)
	if err != nil {
		return nil, err
	}
	if probeEvery <= 0 {
		probeEvery = ProbeEveryDefault
	}
	return &PrioritySource{levels: levels, probeEvery: probeEvery, sched: sched, backlog: saturatedBacklog(),
		arrivals: make(chan arrival, len(Levels))}, nil
}

func saturatedBacklog() [len(Levels)]uint64 {
	var b [len(Levels)]uint64
	for i := range b {
		b[i] = Unknown
	}
	return b
}

// Fetch returns up to max messages, highest level first, waiting at most
// wait when no level has any. What earlier waits delivered after their
// Fetch returned comes first (and may exceed max by one batch per level).
func (p *PrioritySource) Fetch(ctx context.Context, max int, wait time.Duration) ([]wire.Message, error) {
	if kept := p.takeArrived(); len(kept) > 0 {
		return kept, nil
	}
	out, err := p.pullAll(ctx, p.quotas(max))
	if len(out) > 0 || ctx.Err() != nil {
		return out, err
	}
	return p.await(ctx, idleQuotas(max), wait)
}

// await starts a waiting pull of q[i] on each level that has none running
// and returns the first batch any of them delivers, with whatever other
// levels have delivered by then. It returns nothing once every waiting
// pull has ended empty, or wait (and the pulls' one second of slack) has
// passed, or ctx ends.
func (p *PrioritySource) await(ctx context.Context, q [len(Levels)]int, wait time.Duration) ([]wire.Message, error) {
	p.startWaiters(ctx, q, wait)
	timeout := time.NewTimer(wait + time.Second)
	defer timeout.Stop()
	var errs []error
	for {
		select {
		case a := <-p.arrivals:
			if p.arrived(a) > 0 {
				return append(a.msgs, p.takeArrived()...), nil
			}
			if a.err != nil {
				errs = append(errs, fmt.Errorf("level %s: %w", Levels[a.level], a.err))
			}
			if p.noneWaiting() {
				return nil, errors.Join(errs...)
			}
		case <-timeout.C:
			return nil, errors.Join(errs...)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// startWaiters starts a waiting pull on each level with none running.
// The pulls outlive ctx's cancellation (a pull cannot be withdrawn from
// the server once sent): what they deliver goes to arrivals.
func (p *PrioritySource) startWaiters(ctx context.Context, q [len(Levels)]int, wait time.Duration) {
	bg := context.WithoutCancel(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, n := range q {
		if p.waiting[i] {
			continue
		}
		p.waiting[i] = true
		p.waiters.Go(func() {
			var r levelResult
			r.msgs, r.err = p.levels[i].Fetch(bg, n, wait)
			p.learn(i, n, r)
			p.arrivals <- arrival{level: i, levelResult: r}
		})
	}
}

// arrived marks a's level as no longer waiting and returns how many
// messages it delivered.
func (p *PrioritySource) arrived(a arrival) int {
	p.mu.Lock()
	p.waiting[a.level] = false
	p.mu.Unlock()
	return len(a.msgs)
}

func (p *PrioritySource) noneWaiting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting == [len(Levels)]bool{}
}

// takeArrived returns the messages of the waiting pulls that have ended,
// without waiting for the others.
func (p *PrioritySource) takeArrived() []wire.Message {
	var out []wire.Message
	for {
		select {
		case a := <-p.arrivals:
			p.arrived(a)
			out = append(out, a.msgs...)
		default:
			return out
		}
	}
}

// Release waits for the waiting pulls still running and returns every
// message they delivered that no Fetch took, for the caller to give back
// (nak). Call it once nothing fetches any more.
func (p *PrioritySource) Release() []wire.Message {
	p.waiters.Wait()
	return p.takeArrived()
}

// quotas splits max by the scheduler over the believed backlogs; on a
// probe fetch levels believed empty count as Unknown and get at least one
// slot each.
func (p *PrioritySource) quotas(max int) [len(Levels)]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetches++
	if p.fetches%p.probeEvery != 0 {
		return p.sched.Split(max, p.backlog)
	}
	q := p.sched.Split(max, saturatedBacklog())
	probeEmpty(&q, p.backlog)
	return q
}

// probeEmpty gives one slot, taken from the largest quota, to each level
// believed empty that q leaves out, so that a probe fetch pulls every
// such level (under strict order or a small max the split alone may not).
func probeEmpty(q *[len(Levels)]int, backlog [len(Levels)]uint64) {
	for i := range q {
		if backlog[i] != 0 || q[i] > 0 {
			continue
		}
		if d := largest(q); q[d] > 1 {
			q[d]--
			q[i] = 1
		}
	}
}

// idleQuotas shares max evenly (higher levels taking the remainder), each
// level at least one so that every level is waited on: with max below
// len(Levels) an idle fetch may return up to len(Levels) messages.
func idleQuotas(max int) [len(Levels)]int {
	var q [len(Levels)]int
	for i := range q {
		q[i] = max / len(Levels)
		if i < max%len(Levels) {
			q[i]++
		}
		q[i] = cmp.Or(q[i], 1)
	}
	return q
}

type levelResult struct {
	msgs []wire.Message
	err  error
}

// pullAll pulls q[i] from each level concurrently without waiting,
// records what it learned of the backlogs, and joins the batches highest
// level first; an error is returned only when nothing was delivered.
func (p *PrioritySource) pullAll(ctx context.Context, q [len(Levels)]int) ([]wire.Message, error) {
	var res [len(Levels)]levelResult
	var wg sync.WaitGroup
	for i, n := range q {
		if n == 0 {
			continue
		}
		wg.Go(func() {
			res[i].msgs, res[i].err = p.levels[i].TryFetch(ctx, n)
			p.learn(i, n, res[i])
		})
	}
	wg.Wait()
	return join(res)
}

// learn updates level i's believed backlog after a pull of n.
func (p *PrioritySource) learn(i, n int, r levelResult) {
	b := uint64(Unknown)
	switch {
	case r.err != nil:
	case len(r.msgs) < n:
		b = 0
	default:
		if br, ok := r.msgs[len(r.msgs)-1].(BacklogReporter); ok {
			b = br.Backlog()
		}
	}
	p.mu.Lock()
	p.backlog[i] = b
	p.mu.Unlock()
}

func join(res [len(Levels)]levelResult) ([]wire.Message, error) {
	var out []wire.Message
	var errs []error
	for i, r := range res {
		out = append(out, r.msgs...)
		if r.err != nil {
			errs = append(errs, fmt.Errorf("level %s: %w", Levels[i], r.err))
		}
	}
	if len(out) > 0 {
		return out, nil // the next Fetch reports a lasting error
	}
	return nil, errors.Join(errs...)
}

// Pending sums the levels' Pending.
func (p *PrioritySource) Pending(ctx context.Context) (uint64, error) {
	var total uint64
	for i, l := range p.levels {
		n, err := l.Pending(ctx)
		if err != nil {
			return 0, fmt.Errorf("level %s: %w", Levels[i], err)
		}
		total += n
	}
	return total, nil
}
