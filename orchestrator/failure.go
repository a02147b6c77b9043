package orchestrator

import (
	"context"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/tracing"

	"github.com/nats-io/nats.go"
)

// fail applies the ack policy to an engine or deployer error.
func (o *Orchestrator) fail(ctx context.Context, m wire.Message, ch wire.Change, stage string, err error) result {
	attrs := eventAttrs(ch.Event.ID, ch.ExecutionID, slog.String("stage", stage), slog.Any("error", err))
	if delay, deferred := o.deferral(err); deferred {
		o.recordDeferral(ctx, m, attrs)
		o.nak(m, delay, attrs)
		return result{outcome: outcomeDeferred}
	}
	if ctx.Err() != nil {
		o.log.Info("event released at shutdown", attrs...)
		o.nak(m, 0, attrs)
		return result{outcome: outcomeDeferred}
	}
	if o.isPermanent(err) {
		return o.reject(ctx, ch.ExecutionID, m, ch.Event.ID, err)
	}
	o.publishFailed(tracing.TraceID(ctx), ch, stage, err)
	spent := o.spentOnFailure(ctx, m, err, attrs)
	if spent >= uint64(o.cfg.MaxDeliver) {
		return o.deadLetter(ctx, m, ch.ExecutionID, ch.Event.ID, wire.ReasonMaxDeliveries, err)
	}
	delay := o.nakDelay(spent)
	o.log.Warn("event failed; will retry", append(attrs, slog.Duration("retry_in", delay),
		slog.Uint64("deliveries", m.Deliveries()), slog.Uint64("spent", spent))...)
	o.nak(m, delay, attrs)
	return result{outcome: outcomeFailed}
}

// nakDelay grows exponentially with the spent deliveries, capped.
func (o *Orchestrator) nakDelay(deliveries uint64) time.Duration {
	d := o.cfg.NakDelay
	for i := uint64(1); i < deliveries && d < o.cfg.NakDelayMax; i++ {
		d *= 2
	}
	return min(d, o.cfg.NakDelayMax)
}

func (o *Orchestrator) nak(m wire.Message, delay time.Duration, attrs []any) {
	if err := m.Nak(delay); err != nil {
		o.log.Warn("nak failed; the event is redelivered after ack wait", append(attrs, slog.Any("nak_error", err))...)
	}
}

// release puts back a message the cycle never started (Stop began). It is
// not decoded: its id for the log is the Nats-Msg-Id publishers set to it.
func (o *Orchestrator) release(m wire.Message, execID string) result {
	o.nak(m, 0, eventAttrs(m.Headers().Get(nats.MsgIdHdr), execID, slog.Uint64("seq", m.Seq())))
	return result{outcome: outcomeDeferred}
}

// reject dead-letters an invalid or permanently failing event, then
// terminates it. If the dead letter cannot be stored the event is nak'ed
// instead: nothing is lost.
func (o *Orchestrator) reject(ctx context.Context, execID string, m wire.Message, eventID string, err error) result {
	return o.deadLetter(ctx, m, execID, eventID, wire.ReasonOf(err), err)
}

func (o *Orchestrator) deadLetter(ctx context.Context, m wire.Message, execID, eventID, reason string, cause error) result {
	attrs := eventAttrs(eventID, execID, slog.String("reason", reason), slog.Any("error", cause),
		slog.Uint64("seq", m.Seq()), slog.Uint64("deliveries", m.Deliveries()))
	if o.deps.DeadLetters == nil {
		o.log.Error("no dead-letter queue; event kept for redelivery", attrs...)
		o.nak(m, o.cfg.NakDelayMax, attrs)
		return result{outcome: outcomeFailed}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := o.deps.DeadLetters.DeadLetter(dctx, m, reason, cause); err != nil {
		o.log.Error("dead-letter failed; event kept for redelivery", append(attrs, slog.Any("dlq_error", err))...)
		o.nak(m, o.cfg.NakDelay, attrs)
		return result{outcome: outcomeFailed}
	}
	if err := m.Term(reason); err != nil {
		o.log.Warn("term failed after dead-letter", append(attrs, slog.Any("term_error", err))...)
	}
	o.log.Warn("event dead-lettered", attrs...)
	o.publishRejected(tracing.TraceID(ctx), m, eventID, execID, reason, cause)
	return result{outcome: outcomeRejected, deadLettered: true}
}
