package deploy

import (
	"context"
	"fmt"

	"github.com/regen-dev/regen/bus/wire"
)

// deploy is the common path of both deployers: check the path, run the
// validation hook, then let the ledger decide whether do runs.
func deploy(ctx context.Context, l *Ledger, validate func(wire.Artifact) error, a wire.Artifact,
	do func(ctx context.Context, p string) error) (bool, error) {
	p, err := wire.CleanPath(a.Path)
	if err != nil {
		return false, wire.PermanentReason(wire.ReasonUnsafePath, fmt.Errorf("deploy %s: %w", a.Path, err))
	}
	a.Path = p
	if validate != nil {
		if err := validate(a); err != nil {
			return false, wire.PermanentReason(wire.ReasonValidation, fmt.Errorf("deploy %s: validate: %w", p, err))
		}
	}
	run := func(ctx context.Context) error { return do(ctx, p) }
	if l == nil {
		wire.DeployStarted(ctx)
		return true, run(ctx)
	}
	return l.Deploy(ctx, a, run)
}
