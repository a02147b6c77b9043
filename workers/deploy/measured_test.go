package deploy

import (
	"context"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/testkit"
)

// A measured target records each deploy under its name (bytes only for a
// write), the common path the validate and deploy stages, the ledger its
// KV operations.
func TestMeasuredDeployRecordsItsCost(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	validated := false
	d := Measured{Target: "dir:out", Deployer: &Dir{Root: t.TempDir(), Ledger: NewLedger(b.KV(t, "LEDGER"), "dir:out"),
		Validate: func(context.Context, wire.Artifact) error { validated = true; return nil }}}
	var rec cost.Recorder
	ctx := cost.WithRecorder(b.Ctx, &rec)
	mustDeploy(t, ctx, d, artifact("a.txt", "hello", 1), true)
	mustDeploy(t, ctx, d, artifact("a.txt", "hello", 1), false) // unchanged: no bytes
	var got cost.Record
	rec.Visit(func(r *cost.Record) {
		got = *r
		got.Targets, got.Templates = append([]cost.Part(nil), r.Targets...), append([]cost.Part(nil), r.Templates...)
	})
	if !validated || got.Stages[cost.Validate] <= 0 || got.Stages[cost.Deploy] <= 0 {
		t.Fatalf("record %+v: want the validate and deploy stages", got)
	}
	if len(got.Targets) != 1 || got.Targets[0].Name != "dir:out" || got.Targets[0].BytesOut != 5 || got.Targets[0].Wall <= 0 {
		t.Fatalf("targets %+v, want dir:out with 5 bytes out", got.Targets)
	}
	if len(got.Templates) != 1 || got.Templates[0].Name != "t" || got.Templates[0].BytesOut != 5 {
		t.Fatalf("templates %+v, want t with 5 bytes out", got.Templates)
	}
	// read, claim, record; then the read that finds it unchanged
	if got.KVOps != 4 {
		t.Fatalf("%d KV operations, want 4", got.KVOps)
	}
}
