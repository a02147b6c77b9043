// Package faults injects failures into a replica's engine and deployer for
// tests and drills: latency, random errors, hangs, and a hard crash right
// after a deploy (before the ack). It is switched on only by the `faults`
// setting (env REGEN_FAULTS), never by event data.
//
//	REGEN_FAULTS="engine:delay=10ms,error=0.05,hang=0.01;deployer:crash_after=50"
package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// ErrInjected is the error a fault returns.
var ErrInjected = errors.New("injected fault")

// ErrInjectedBusy is the error of a busy_first fault: a deferral (it
// matches wire.ErrDeferred), as when another replica holds the path.
var ErrInjectedBusy = fmt.Errorf("injected fault: busy: %w", wire.ErrDeferred)

// Spec is what to inject into one component.
type Spec struct {
	Delay      time.Duration // added to every call
	ErrorRate  float64       // share of calls that fail (transient)
	HangRate   float64       // share of calls that block until ctx ends
	FailFirst  int64         // the first N calls fail
	BusyFirst  int64         // the first N calls (after FailFirst) are deferred
	CrashAfter int64         // exit the process right after the Nth successful call
}

// Parse reads "engine:k=v,k=v;deployer:k=v". Keys: delay, error, hang,
// fail_first, busy_first, crash_after.
func Parse(s string) (map[string]Spec, error) {
	out := map[string]Spec{}
	for part := range strings.SplitSeq(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		comp, kvs, ok := strings.Cut(part, ":")
		if !ok || (comp != "engine" && comp != "deployer") {
			return nil, fmt.Errorf("faults: %q: want engine:KEY=VALUE or deployer:KEY=VALUE", part)
		}
		spec, err := parseSpec(kvs)
		if err != nil {
			return nil, fmt.Errorf("faults: %s: %w", comp, err)
		}
		out[comp] = spec
	}
	return out, nil
}

func parseSpec(kvs string) (Spec, error) {
	var sp Spec
	for kv := range strings.SplitSeq(kvs, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		var err error
		switch k {
		case "delay":
			sp.Delay, err = time.ParseDuration(v)
		case "error":
			sp.ErrorRate, err = strconv.ParseFloat(v, 64)
		case "hang":
			sp.HangRate, err = strconv.ParseFloat(v, 64)
		case "fail_first":
			sp.FailFirst, err = strconv.ParseInt(v, 10, 64)
		case "busy_first":
			sp.BusyFirst, err = strconv.ParseInt(v, 10, 64)
		case "crash_after":
			sp.CrashAfter, err = strconv.ParseInt(v, 10, 64)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return sp, fmt.Errorf("%s: %w", kv, err)
		}
	}
	return sp, nil
}

// injector applies a Spec around calls.
type injector struct {
	spec      Spec
	calls, ok atomic.Int64
}

// before runs ahead of the real call: delay, failures, hangs.
func (in *injector) before(ctx context.Context) error {
	n := in.calls.Add(1)
	if in.spec.Delay > 0 {
		t := time.NewTimer(in.spec.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if n <= in.spec.FailFirst || (in.spec.ErrorRate > 0 && rand.Float64() < in.spec.ErrorRate) {
		return ErrInjected
	}
	if n <= in.spec.FailFirst+in.spec.BusyFirst {
		return ErrInjectedBusy
	}
	if in.spec.HangRate > 0 && rand.Float64() < in.spec.HangRate {
		<-ctx.Done()
		return fmt.Errorf("%w: hang: %w", ErrInjected, ctx.Err())
	}
	return nil
}

// after runs once the real call succeeded: the crash point.
func (in *injector) after() {
	if n := in.ok.Add(1); in.spec.CrashAfter > 0 && n == in.spec.CrashAfter {
		fmt.Fprintf(os.Stderr, "faults: crash after %d successful calls\n", n)
		os.Exit(99)
	}
}

// Engine is the orchestrator's engine contract.
type Engine interface {
	Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error)
}

// Deployer is the orchestrator's deployer contract.
type Deployer interface {
	Deploy(ctx context.Context, a wire.Artifact) (bool, error)
}

type engine struct {
	Engine
	in *injector
}

// WrapEngine returns e with the faults of spec injected.
func WrapEngine(e Engine, spec Spec) Engine { return &engine{Engine: e, in: &injector{spec: spec}} }

func (e *engine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	if err := e.in.before(ctx); err != nil {
		return nil, err
	}
	arts, err := e.Engine.Regenerate(ctx, ch)
	if err == nil {
		e.in.after()
	}
	return arts, err
}

type deployer struct {
	Deployer
	in *injector
}

// WrapDeployer returns d with the faults of spec injected.
func WrapDeployer(d Deployer, spec Spec) Deployer {
	return &deployer{Deployer: d, in: &injector{spec: spec}}
}

func (d *deployer) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	if err := d.in.before(ctx); err != nil {
		return false, err
	}
	ok, err := d.Deployer.Deploy(ctx, a)
	if err == nil {
		d.in.after()
	}
	return ok, err
}
