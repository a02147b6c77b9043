package orchestrator

import (
	"context"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/deadline"
)

// outcome is how one delivery of an event ended.
type outcome uint8

const (
	outcomeSucceeded outcome = iota + 1 // deployed at least one artifact, acked
	outcomeSkipped                      // nothing new to deploy (already done), acked
	outcomeFailed                       // transient failure: nak'ed with delay (or dead-lettered at the last delivery)
	outcomeRejected                     // invalid or permanent: dead-lettered and terminated
	outcomeDeferred                     // circuit open or shutting down: nak'ed, not a failure
)

// String is the outcome's name in metrics and telemetry.
func (oc outcome) String() string {
	switch oc {
	case outcomeSucceeded:
		return "succeeded"
	case outcomeSkipped:
		return "skipped"
	case outcomeFailed:
		return "failed"
	case outcomeRejected:
		return "rejected"
	case outcomeDeferred:
		return "deferred"
	}
	return "unknown"
}

type result struct {
	outcome      outcome
	deployments  int
	regenerated  bool
	deadLettered bool
	// ack is set when the event succeeded and is still to be acked; the
	// cycle sends the ack and awaits its confirmation without holding a
	// worker (eventID is for the log if the ack fails).
	ack     bool
	eventID string
}

// process drives one message through decode, engine and deployer, and
// settles failures (nak, term, dead letter). A success is returned with
// ack set: the caller acks it.
func (o *Orchestrator) process(ctx context.Context, execID string, m bus.Message) result {
	ev, err := bus.DecodeChangeEvent(m.Data(), o.cfg.MaxPayload)
	if err != nil {
		return o.reject(ctx, execID, m, ev.ID, err)
	}
	evCtx, cancel := deadline.WithTimeout(ctx, o.cfg.EventTimeout)
	defer cancel()
	ch := bus.Change{Event: ev, Seq: m.Seq(), Deliveries: m.Deliveries(), ExecutionID: execID}
	arts, err := o.regenerate(evCtx, ch)
	if err != nil {
		return o.fail(ctx, m, ch, "regenerate", err)
	}
	deployed, err := o.deployAll(evCtx, ch, arts)
	if err != nil {
		res := o.fail(ctx, m, ch, "deploy", err)
		res.regenerated, res.deployments = true, deployed
		return res
	}
	res := result{outcome: outcomeSucceeded, deployments: deployed, regenerated: true, ack: true, eventID: ev.ID}
	if deployed == 0 {
		res.outcome = outcomeSkipped
	}
	return res
}

func (o *Orchestrator) regenerate(ctx context.Context, ch bus.Change) ([]bus.Artifact, error) {
	var arts []bus.Artifact
	err := o.deps.EngineGuard.Do(ctx, func(ctx context.Context) error {
		var err error
		arts, err = o.deps.Engine.Regenerate(ctx, ch)
		return err
	})
	return arts, err
}

// deployAll deploys every artifact in order; it returns how many were
// deployed (not skipped) before the first error.
func (o *Orchestrator) deployAll(ctx context.Context, ch bus.Change, arts []bus.Artifact) (int, error) {
	n := 0
	for _, a := range arts {
		start := time.Now()
		var deployed bool
		err := o.deps.DeployGuard.Do(ctx, func(ctx context.Context) error {
			var err error
			deployed, err = o.deps.Deployer.Deploy(ctx, a)
			return err
		})
		if err != nil {
			o.publishDeployFailed(ch, a, err)
			return n, err
		}
		if deployed {
			n++
			o.publishDeployed(ch, a, time.Since(start))
		}
	}
	return n, nil
}

func eventAttrs(eventID, execID string, more ...any) []any {
	return append([]any{slog.String("event_id", eventID), slog.String("execution_id", execID)}, more...)
}
