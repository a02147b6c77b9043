package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/ratelimit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]ratelimit.Limit{
		"200/s":        {Key: "k", PerSecond: 200, Burst: 20},
		"30/m":         {Key: "k", PerSecond: 0.5, Burst: 1},
		"7200/h":       {Key: "k", PerSecond: 2, Burst: 1},
		" 5/s ":        {Key: "k", PerSecond: 5, Burst: 1},
		"200/s,50":     {Key: "k", PerSecond: 200, Burst: 50},
		"30/m, 5":      {Key: "k", PerSecond: 0.5, Burst: 5},
		" 1/s , 1 ":    {Key: "k", PerSecond: 1, Burst: 1},
		"7200/h,10000": {Key: "k", PerSecond: 2, Burst: 10000},
	} {
		got, err := ratelimit.Parse("k", spec)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"", "200", "200/d", "x/s", "0/s", "-1/s", "Inf/s", "NaN/s", ",5", "x/s,5"} {
		if _, err := ratelimit.Parse("k", bad); !errors.Is(err, ratelimit.ErrSyntax) || !strings.Contains(err.Error(), "rate") {
			t.Errorf("Parse(%q) = %v, want ErrSyntax naming the rate", bad, err)
		}
	}
	for _, bad := range []string{"200/s,", "200/s,0", "200/s,-1", "200/s,1.5", "200/s,x", "200/s,5,6"} {
		if _, err := ratelimit.Parse("k", bad); !errors.Is(err, ratelimit.ErrSyntax) || !strings.Contains(err.Error(), "burst") {
			t.Errorf("Parse(%q) = %v, want ErrSyntax naming the burst", bad, err)
		}
	}
}

func TestABurstIsSharedAmongReplicas(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.Parse(ratelimit.Engine, "1/h,3")
	if err != nil {
		t.Fatal(err)
	}
	s := ratelimit.New([]ratelimit.Limit{l}, ratelimit.Options{})
	for i := range 3 {
		if err := s.Take(context.Background(), ratelimit.Engine, ratelimit.Ref{}, 0); err != nil {
			t.Fatalf("token %d of a burst of 3: %v", i+1, err)
		}
	}
	if err := s.Take(context.Background(), ratelimit.Engine, ratelimit.Ref{}, 0); !errors.Is(err, wire.ErrDeferred) {
		t.Fatalf("a fourth token at once: %v, want a deferral", err)
	}
	s.SetReplicas(2)
	if b := s.Burst(ratelimit.Engine); b != 1 {
		t.Fatalf("two replicas share a burst of 3: %d each, want 1", b)
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	targets := []string{"dir:./out"}
	for _, ok := range []string{"engine", "deployer", "source:crm", "target:dir:./out"} {
		if err := ratelimit.CheckKey(ok, targets); err != nil {
			t.Errorf("CheckKey(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"engines", "source:", "target:dir:./elsewhere", ""} {
		if err := ratelimit.CheckKey(bad, targets); err == nil {
			t.Errorf("CheckKey(%q) = nil, want an error", bad)
		}
	}
}

func TestSetReplicasSharesTheRate(t *testing.T) {
	t.Parallel()
	l, _ := ratelimit.Parse(ratelimit.Engine, "100/s")
	s := ratelimit.New([]ratelimit.Limit{l}, ratelimit.Options{})
	if got := s.Rate(ratelimit.Engine); got != 100 {
		t.Fatalf("one replica: rate %g, want 100", got)
	}
	s.SetReplicas(4)
	if got := s.Rate(ratelimit.Engine); got != 25 {
		t.Fatalf("four replicas: rate %g, want 25", got)
	}
	s.SetReplicas(0)
	if got := s.Rate(ratelimit.Engine); got != 100 {
		t.Fatalf("zero replicas counts as one: rate %g, want 100", got)
	}
	if s.Has("deployer") || s.Rate("deployer") != 0 || s.Empty() {
		t.Fatal("only the engine is limited")
	}
	if !ratelimit.New(nil, ratelimit.Options{}).Empty() {
		t.Fatal("a set without limits is empty")
	}
}

// recorder collects the events a Set reports.
type recorder struct {
	mu  sync.Mutex
	evs []ratelimit.Event
}

func (r *recorder) add(ev ratelimit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *recorder) events() []ratelimit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ratelimit.Event(nil), r.evs...)
}

func TestTakeWaitsThenNaks(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	s := ratelimit.New([]ratelimit.Limit{{Key: "engine", PerSecond: 20, Burst: 1}}, ratelimit.Options{OnLimited: rec.add})
	ctx := context.Background()
	if err := s.Take(ctx, "engine", ratelimit.Ref{}, time.Second); err != nil {
		t.Fatalf("the burst token: %v", err)
	}
	start := time.Now()
	if err := s.Take(ctx, "engine", ratelimit.Ref{}, time.Second); err != nil {
		t.Fatalf("a token due within maxWait: %v", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Fatalf("waited %s for a token due in 50ms", waited)
	}
	ref := ratelimit.Ref{EventID: "ev-1", ExecutionID: "x-1"}
	err := s.Take(ctx, "engine", ref, time.Millisecond)
	var rl *wire.RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, wire.ErrDeferred) || rl.Limit != "engine" || rl.RetryAfter <= 0 {
		t.Fatalf("a token due after maxWait: %v, want a RateLimitedError", err)
	}
	evs := rec.events()
	if len(evs) != 2 || evs[0].Nak || !evs[1].Nak {
		t.Fatalf("events %+v, want a wait then a nak", evs)
	}
	if evs[0].Ref != (ratelimit.Ref{}) || evs[1].Ref != ref {
		t.Fatalf("events %+v, want the second with the Ref given to Take", evs)
	}
	if err := s.Take(ctx, "source:other", ratelimit.Ref{}, 0); err != nil {
		t.Fatalf("an unlimited key: %v", err)
	}
}

func TestTakeHonoursCancellation(t *testing.T) {
	t.Parallel()
	s := ratelimit.New([]ratelimit.Limit{{Key: "engine", PerSecond: 0.01, Burst: 1}}, ratelimit.Options{})
	_ = s.Take(context.Background(), "engine", ratelimit.Ref{}, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Take(ctx, "engine", ratelimit.Ref{}, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Take on a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestMaxWait(t *testing.T) {
	t.Parallel()
	if got := ratelimit.MaxWait(context.Background(), time.Second); got != time.Second {
		t.Fatalf("no deadline: %s, want the fallback", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got := ratelimit.MaxWait(ctx, time.Hour); got > 5*time.Second || got < 4*time.Second {
		t.Fatalf("10s left: %s, want about 5s", got)
	}
}
