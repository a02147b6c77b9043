package workers

import (
	"context"
	"fmt"

	"github.com/regen-dev/regen/bus"
)

// deploy is the common path of both deployers: check the path, run the
// validation hook, then let the ledger decide whether do runs.
func deploy(ctx context.Context, l *Ledger, validate func(bus.Artifact) error, a bus.Artifact,
	do func(ctx context.Context, p string) error) (bool, error) {
	p, err := CleanPath(a.Path)
	if err != nil {
		return false, fmt.Errorf("deploy %s: %w: %w", a.Path, ErrPermanent, err)
	}
	a.Path = p
	if validate != nil {
		if err := validate(a); err != nil {
			return false, fmt.Errorf("deploy %s: validate: %w: %w", p, ErrPermanent, err)
		}
	}
	run := func(ctx context.Context) error { return do(ctx, p) }
	if l == nil {
		bus.DeployStarted(ctx)
		return true, run(ctx)
	}
	return l.Deploy(ctx, a, run)
}
