package orchestrator

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// levelMsg is a message of a fake level that reports its level's backlog.
type levelMsg struct {
	*fakeMsg
	level   int
	backlog uint64
}

func (m *levelMsg) Backlog() uint64 { return m.backlog }

// fakeLevel is a LevelSource holding a count of queued events.
type fakeLevel struct {
	level  int
	mu     sync.Mutex
	queued int
	pulls  int
	waits  int
	hold   chan struct{} // non-nil: waiting pulls block until it closes
}

func (l *fakeLevel) add(n int) {
	l.mu.Lock()
	l.queued += n
	l.mu.Unlock()
}

func (l *fakeLevel) take(n int) []wire.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pulls++
	n = min(n, l.queued)
	l.queued -= n
	out := make([]wire.Message, n)
	for i := range out {
		out[i] = &levelMsg{fakeMsg: validMsg(i), level: l.level, backlog: uint64(l.queued + n - i - 1)}
	}
	return out
}

func (l *fakeLevel) TryFetch(_ context.Context, n int) ([]wire.Message, error) { return l.take(n), nil }

func (l *fakeLevel) Fetch(_ context.Context, n int, _ time.Duration) ([]wire.Message, error) {
	l.mu.Lock()
	l.waits++
	hold := l.hold
	l.mu.Unlock()
	if hold != nil {
		<-hold // a waiting pull that ends when the test says so
	}
	return l.take(n), nil
}

// holdWaits makes the level's waiting pulls block until the returned
// function is called.
func (l *fakeLevel) holdWaits() (end func()) {
	hold := make(chan struct{})
	l.mu.Lock()
	l.hold = hold
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.hold = nil
		l.mu.Unlock()
		close(hold)
	}
}

func (l *fakeLevel) Pending(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(l.queued), nil
}

func (l *fakeLevel) counts() (queued, pulls, waits int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queued, l.pulls, l.waits
}

func newLevels(t *testing.T, cfg PriorityConfig) (*PrioritySource, [len(Levels)]*fakeLevel) {
	t.Helper()
	var fl [len(Levels)]*fakeLevel
	var ls [len(Levels)]LevelSource
	for i := range fl {
		fl[i] = &fakeLevel{level: i}
		ls[i] = fl[i]
	}
	ps, err := NewPrioritySource(ls, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ps, fl
}

func fetchCounts(t *testing.T, ps *PrioritySource, n int) [len(Levels)]int {
	t.Helper()
	msgs, err := ps.Fetch(context.Background(), n, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var c [len(Levels)]int
	for _, m := range msgs {
		c[m.(*levelMsg).level]++
	}
	return c
}

// Under saturation of every level the fetched shares follow the weights.
func TestPrioritySourceShares(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	for _, l := range fl {
		l.add(1 << 20)
	}
	var got [len(Levels)]int
	for range 200 {
		c := fetchCounts(t, ps, 64)
		for i := range c {
			got[i] += c[i]
		}
	}
	checkShares(t, ps.sched, 64, got)
}

// 2,000 low events queued, then 50 critical ones: the critical ones are
// all fetched while most low ones are still queued.
func TestPrioritySourceCriticalOvertakesLowBacklog(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	fl[3].add(2000)
	fetchCounts(t, ps, 16)
	fl[0].add(50)
	critical := 0
	for f := 0; critical < 50; f++ {
		if f > 2*ProbeEveryDefault+10 {
			t.Fatalf("only %d critical events after %d fetches", critical, f)
		}
		critical += fetchCounts(t, ps, 16)[0]
	}
	if low, _, _ := fl[3].counts(); low <= 1000 {
		t.Fatalf("%d low events left, want most of 2,000", low)
	}
}

// With only one level busy, a fetch makes one pull, plus the periodic
// probes of the empty levels (and never a waiting pull).
func TestPrioritySourceOnePullPerFetchWhenOneLevelBusy(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	fl[2].add(1 << 20)
	fetchCounts(t, ps, 64) // learns that the other levels are empty
	const fetches = 10 * ProbeEveryDefault
	for range fetches {
		if c := fetchCounts(t, ps, 64); c[2] == 0 {
			t.Fatal("a fetch got nothing from the busy level")
		}
	}
	_, pulls, _ := fl[2].counts()
	others, waits := 0, 0
	for _, i := range []int{0, 1, 3} {
		_, p, w := fl[i].counts()
		others, waits = others+p, waits+w
	}
	if want := fetches + 1; pulls != want {
		t.Errorf("busy level: %d pulls for %d fetches, want %d", pulls, fetches+1, want)
	}
	if max := 3 * (1 + fetches/ProbeEveryDefault); others > max || waits > 0 {
		t.Errorf("empty levels: %d pulls (want at most %d), %d waiting pulls (want 0)", others, max, waits)
	}
}

// When every level is empty a fetch waits on all of them, and a level's
// first event is found.
func TestPrioritySourceIdleWaitsOnEveryLevel(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	if c := fetchCounts(t, ps, 1); c != [len(Levels)]int{} { // a batch of 1 still waits on every level
		t.Fatalf("fetched %v from empty levels", c)
	}
	for i, l := range fl {
		if _, _, w := l.counts(); w != 1 {
			t.Fatalf("level %s: %d waiting pulls, want 1", Levels[i], w)
		}
	}
	fl[3].add(1)
	if c := fetchCounts(t, ps, 1); c[3] != 1 {
		t.Fatalf("fetched %v, want the low event", c)
	}
	if n, err := ps.Pending(context.Background()); err != nil || n != 0 {
		t.Fatalf("Pending = %d, %v", n, err)
	}
}

// An idle fetch returns as soon as one level delivers, without waiting for
// the other levels' pulls; what a still-waiting level delivers later comes
// with the next fetch, and Release returns what no fetch took.
func TestPrioritySourceIdleReturnsOnFirstDelivery(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	end := fl[3].holdWaits()
	endCritical := fl[0].holdWaits()
	done := make(chan []wire.Message)
	go func() {
		msgs, _ := ps.Fetch(context.Background(), 8, time.Minute)
		done <- msgs
	}()
	waitFor(t, func() bool { _, _, w := fl[0].counts(); return w == 1 })
	fl[0].add(1) // the critical event arrives during the wait
	endCritical()
	if msgs := <-done; len(msgs) != 1 || msgs[0].(*levelMsg).level != 0 {
		t.Fatalf("fetched %d messages, want the critical event while low still waits", len(msgs))
	}
	fl[3].add(2)
	end()
	waitFor(t, func() bool { q, _, _ := fl[3].counts(); return q == 0 })
	if c := fetchCounts(t, ps, 8); c[3] != 2 {
		t.Fatalf("next fetch got %v, want the 2 low events the waiting pull delivered", c)
	}
	if kept := ps.Release(); len(kept) != 0 {
		t.Fatalf("Release returned %d messages after every delivery was fetched", len(kept))
	}
}

// Release waits for the waiting pulls and returns what they delivered
// after the fetch that started them had returned.
func TestPrioritySourceReleaseReturnsKeptMessages(t *testing.T) {
	t.Parallel()
	ps, fl := newLevels(t, PriorityConfig{})
	end := fl[2].holdWaits()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := ps.Fetch(ctx, 8, time.Minute); done <- err }()
	waitFor(t, func() bool { _, _, w := fl[2].counts(); return w == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled idle fetch returned %v", err)
	}
	fl[2].add(2)
	end()
	if kept := ps.Release(); len(kept) != 2 {
		t.Fatalf("Release returned %d messages, want the 2 delivered after the fetch ended", len(kept))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, "condition", cond)
}
