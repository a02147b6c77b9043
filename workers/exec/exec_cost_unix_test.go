//go:build unix

package exec

import (
	"context"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/cost"
)

// childrenCPU is the CPU time of the process's waited-for children.
func childrenCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The generator's CPU time is recorded exactly, from its rusage: a
// generator that burns CPU shows it, as much as the kernel counted for
// the process's children meanwhile. Not parallel: no other test's
// children may finish meanwhile.
func TestExecEngineRecordsTheChildsCPU(t *testing.T) {
	e := sh(t, `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done > out.txt`)
	var rec cost.Recorder
	ctx := cost.WithRecorder(context.Background(), &rec)
	before := childrenCPU(t)
	arts, err := e.Regenerate(ctx, execChange("urn:x:Burn"))
	if err != nil {
		t.Fatal(err)
	}
	kernel := childrenCPU(t) - before
	var got cost.Record
	rec.Visit(func(r *cost.Record) { got = *r; got.Templates = append([]cost.Part(nil), r.Templates...) })
	if len(arts) != 1 || len(got.Templates) != 1 || got.Templates[0].Name != Template {
		t.Fatalf("artifacts %+v, record %+v: want one exec artifact and its template", arts, got)
	}
	if got.ChildCPU < 20*time.Millisecond || got.Templates[0].ChildCPU != got.ChildCPU {
		t.Fatalf("child CPU %v (template's %v), want the loop's, at least 20ms", got.ChildCPU, got.Templates[0].ChildCPU)
	}
	if diff := math.Abs(float64(got.ChildCPU - kernel)); diff > 0.2*float64(kernel)+float64(5*time.Millisecond) {
		t.Fatalf("child CPU %v, the kernel counted %v for the children", got.ChildCPU, kernel)
	}
	if got.ChildWall < got.ChildCPU/2 || got.Stages[cost.Render] < got.ChildWall {
		t.Fatalf("child wall %v, render stage %v: want the run inside the render stage", got.ChildWall, got.Stages[cost.Render])
	}
	if got.Templates[0].BytesRendered != int64(len("done\n")) {
		t.Fatalf("bytes rendered %d, want %d", got.Templates[0].BytesRendered, len("done\n"))
	}
}
