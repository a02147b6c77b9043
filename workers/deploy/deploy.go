package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/tracing"
)

// deploy is the common path of both deployers: check the path, run the
// validation hook (never on a delete), then let the ledger decide whether
// do runs. A refused artifact touches neither the target nor the ledger.
// The hook's time is the validate stage of the event's cost, the rest the
// deploy stage.
func deploy(ctx context.Context, l *Ledger, validate func(context.Context, wire.Artifact) error, a wire.Artifact,
	do func(ctx context.Context, p string) error) (bool, error) {
	p, err := wire.CleanPath(a.Path)
	if err != nil {
		return false, wire.PermanentReason(wire.ReasonUnsafePath, fmt.Errorf("deploy %s: %w", a.Path, err))
	}
	a.Path = p
	rec := cost.From(ctx)
	if validate != nil && !a.Delete {
		start := time.Now()
		vctx, span := tracing.StartStage(ctx, tracing.StageValidate)
		err := validate(vctx, a)
		rec.AddStage(cost.Validate, time.Since(start))
		tracing.End(span, err)
		if err != nil {
			return false, validationErr(ctx, p, err)
		}
	}
	defer addStage(rec, cost.Deploy, time.Now())
	run := func(ctx context.Context) error { return do(ctx, p) }
	if l == nil {
		wire.DeployStarted(ctx)
		return true, run(ctx)
	}
	return l.Deploy(ctx, a, run)
}

// addStage adds the time since start to stage s of rec.
func addStage(rec *cost.Recorder, s cost.Stage, start time.Time) {
	rec.AddStage(s, time.Since(start))
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
