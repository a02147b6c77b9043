package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// errBudgetSpent is the cause of a dead letter whose deliveries ended
// without an outcome (crashes, lost acks) until its budget was spent.
var errBudgetSpent = errors.New("delivery budget spent")

// attemptsTimeout bounds one call to the attempt log.
const attemptsTimeout = 5 * time.Second

func attemptsCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), attemptsTimeout)
}

// recordDeferral notes that m's delivery was given back untried. Without
// a record the delivery counts against the budget like any other.
func (o *Orchestrator) recordDeferral(ctx context.Context, m wire.Message, attrs []any) {
	if o.deps.Attempts == nil {
		return
	}
	actx, cancel := attemptsCtx(ctx)
	defer cancel()
	if _, err := o.deps.Attempts.Deferred(actx, m.Seq()); err != nil {
		o.log.Warn("deferral not recorded; it counts as a delivery", append(attrs, slog.Any("attempts_error", err))...)
	}
}

// spentOnFailure records a transient failure of m and returns how much
// of the delivery budget m's deliveries have spent, this one included.
func (o *Orchestrator) spentOnFailure(ctx context.Context, m wire.Message, cause error, attrs []any) uint64 {
	if o.deps.Attempts == nil {
		return m.Deliveries()
	}
	actx, cancel := attemptsCtx(ctx)
	defer cancel()
	rec, err := o.deps.Attempts.Failed(actx, m.Seq(), cause)
	if err != nil {
		o.log.Warn("failure not recorded; counting every delivery", append(attrs, slog.Any("attempts_error", err))...)
		return m.Deliveries()
	}
	return rec.Spent(m.Deliveries())
}

// exhausted reports whether m's earlier deliveries already spent its
// budget without settling it (they ended without an outcome: a replica
// crashed on it, or its ack was lost), with the cause to dead-letter it
// under. It costs nothing until the delivery count passes the budget.
func (o *Orchestrator) exhausted(ctx context.Context, m wire.Message) (cause error, spent bool) {
	earlier, budget := m.Deliveries()-1, uint64(o.cfg.MaxDeliver)
	if earlier < budget {
		return nil, false
	}
	var rec wire.Attempts
	if o.deps.Attempts != nil {
		actx, cancel := attemptsCtx(ctx)
		defer cancel()
		r, err := o.deps.Attempts.Get(actx, m.Seq())
		if err != nil {
			return nil, false // cannot tell: try the event
		}
		rec = r
	}
	if rec.Spent(earlier) < budget {
		return nil, false
	}
	cause = fmt.Errorf("%w: %d earlier deliveries (%d deferred, %d failed)", errBudgetSpent,
		earlier, rec.Deferrals, rec.Failures)
	if rec.LastError != "" {
		return fmt.Errorf("%w; last failure: %s", cause, rec.LastError), true
	}
	return fmt.Errorf("%w; none recorded a failure (a replica crashed on it, or its ack was lost)", cause), true
}
