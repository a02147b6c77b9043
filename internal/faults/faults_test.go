package faults

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

func TestParse(t *testing.T) {
	t.Parallel()
	specs, err := Parse("engine:delay=5ms,error=0.25,hang=0.5; deployer:fail_first=3,crash_after=7")
	if err != nil {
		t.Fatal(err)
	}
	e, d := specs["engine"], specs["deployer"]
	if e.Delay != 5*time.Millisecond || e.ErrorRate != 0.25 || e.HangRate != 0.5 || d.FailFirst != 3 || d.CrashAfter != 7 {
		t.Fatalf("specs = %+v", specs)
	}
	for _, bad := range []string{"db:error=1", "engine:error=x", "engine:speed=9", "engine"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if specs, err := Parse(""); err != nil || len(specs) != 0 {
		t.Fatalf("empty spec: %v %v", specs, err)
	}
}

type okEngine struct{}

func (okEngine) Regenerate(context.Context, wire.Change) ([]wire.Artifact, error) { return nil, nil }

func TestFailFirstThenSucceed(t *testing.T) {
	t.Parallel()
	e := WrapEngine(okEngine{}, Spec{FailFirst: 2})
	for i, want := range []error{ErrInjected, ErrInjected, nil, nil} {
		if _, err := e.Regenerate(context.Background(), wire.Change{}); !errors.Is(err, want) && err != want {
			t.Fatalf("call %d: err = %v, want %v", i+1, err, want)
		}
	}
}

func TestHangEndsWithTheContext(t *testing.T) {
	t.Parallel()
	e := WrapEngine(okEngine{}, Spec{HangRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := e.Regenerate(ctx, wire.Change{}); !errors.Is(err, ErrInjected) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
