package deploy

import (
	"context"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/tracing"
)

// Measured is a Deployer whose calls are recorded, under the target's
// name, in the cost.Recorder of the call's context (if any): the time of
// each call and the bytes written (none for a skip or a delete).
type Measured struct {
	// Target names the target, as the ledger does ("dir:/srv/out").
	Target string
	Deployer
}

// Deploy deploys a through the wrapped Deployer and records the call; in
// a traced event the call is a deploy span naming the target.
func (m Measured) Deploy(ctx context.Context, a wire.Artifact) (ok bool, err error) {
	ctx, span := tracing.StartDeploy(ctx, m.Target)
	defer func() { tracing.End(span, err) }()
	rec := cost.From(ctx)
	if rec == nil {
		return m.Deployer.Deploy(ctx, a)
	}
	start := time.Now()
	ok, err = m.Deployer.Deploy(ctx, a)
	n := 0
	if ok && err == nil && !a.Delete {
		n = len(a.Content)
	}
	rec.Deployed(m.Target, a.Template, time.Since(start), n)
	return ok, err
}
