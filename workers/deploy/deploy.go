package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/regen-dev/regen/bus/wire"
)

// deploy is the common path of both deployers: check the path, run the
// validation hook (never on a delete), then let the ledger decide whether
// do runs. A refused artifact touches neither the target nor the ledger.
func deploy(ctx context.Context, l *Ledger, validate func(context.Context, wire.Artifact) error, a wire.Artifact,
	do func(ctx context.Context, p string) error) (bool, error) {
	p, err := wire.CleanPath(a.Path)
	if err != nil {
		return false, wire.PermanentReason(wire.ReasonUnsafePath, fmt.Errorf("deploy %s: %w", a.Path, err))
	}
	a.Path = p
	if validate != nil && !a.Delete {
		if err := validate(ctx, a); err != nil {
			return false, validationErr(ctx, p, err)
		}
	}
	run := func(ctx context.Context) error { return do(ctx, p) }
	if l == nil {
		wire.DeployStarted(ctx)
		return true, run(ctx)
	}
	return l.Deploy(ctx, a, run)
}

// validationErr is the error of a validation hook's err: permanent, with
// reason wire.ReasonValidation, unless the validator could not run or
// ctx ended (then it is retried).
func validationErr(ctx context.Context, p string, err error) error {
	err = fmt.Errorf("deploy %s: validate: %w", p, err)
	if ctx.Err() != nil || errors.Is(err, ErrValidatorUnavailable) {
		return err
	}
	return wire.PermanentReason(wire.ReasonValidation, err)
}
