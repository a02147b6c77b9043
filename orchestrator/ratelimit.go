package orchestrator

import (
	"cmp"
	"context"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/ratelimit"
)

// RateLimiter paces events by rate limits keyed as in package ratelimit
// (ratelimit.Engine, ratelimit.Deployer, ratelimit.SourcePrefix+source);
// *ratelimit.Set is one. Safe for concurrent use.
type RateLimiter interface {
	// Empty reports whether no limit is configured: the orchestrator then
	// never calls Take.
	Empty() bool
	// Take takes a token of key for the event ref, waiting for it up to
	// maxWait and honouring ctx; a token due later is not taken and a
	// *wire.RateLimitedError returned. A key without a limit returns nil.
	Take(ctx context.Context, key string, ref ratelimit.Ref, maxWait time.Duration) error
}

// limitEngine takes the tokens an engine call on the events of chs needs:
// for each, one of its source's limit, then one of the engine's. ctx is
// the event context: a wait honours its deadline (half of what is left at
// most, see ratelimit.MaxWait) and cancellation. A nil error means go.
func (o *Orchestrator) limitEngine(ctx context.Context, chs ...wire.Change) error {
	if o.limits == nil {
		return nil
	}
	for _, ch := range chs {
		ref := ratelimit.Ref{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID}
		if ch.Event.Source != "" {
			if err := o.take(ctx, ratelimit.SourcePrefix+ch.Event.Source, ref); err != nil {
				return err
			}
		}
		if err := o.take(ctx, ratelimit.Engine, ref); err != nil {
			return err
		}
	}
	return nil
}

// limitDeploy takes the deployer's token for artifact a of change ch,
// reported as the event that made a (ch's when a does not say).
func (o *Orchestrator) limitDeploy(ctx context.Context, ch wire.Change, a wire.Artifact) error {
	if o.limits == nil {
		return nil
	}
	ref := ratelimit.Ref{EventID: cmp.Or(a.EventID, ch.Event.ID), ExecutionID: cmp.Or(a.ExecutionID, ch.ExecutionID)}
	return o.take(ctx, ratelimit.Deployer, ref)
}

func (o *Orchestrator) take(ctx context.Context, key string, ref ratelimit.Ref) error {
	return o.limits.Take(ctx, key, ref, ratelimit.MaxWait(ctx, o.cfg.EventTimeout/2))
}
