package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/tracing"
)

// PublishChanges publishes evs on the changes stream at priority p, each
// with Nats-Msg-Id = its id (so a repeat inside the stream's duplicate
// window is stored once), and returns once every one is stored. Traced,
// each publish is the root span of a trace of its own, linked to the span
// in ctx (the change that caused evs: regen.link.type = caused_by), and
// carried in the message's headers.
func PublishChanges(ctx context.Context, js jetstream.JetStream, p wire.Priority, evs []wire.ChangeEvent) (err error) {
	futs := make([]jetstream.PubAckFuture, 0, len(evs))
	var spans []trace.Span // spans[i] is futs[i]'s; spans[:ended] are ended
	ended := 0
	defer func() {
		for _, span := range spans[ended:] {
			tracing.End(span, err)
		}
	}()
	cause := trace.SpanContextFromContext(ctx)
	for _, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("publish %s: encode: %w", ev.ID, err)
		}
		msg := nats.NewMsg(ev.NATSSubject(p))
		msg.Data = data
		msg.Header.Set(nats.MsgIdHdr, ev.ID)
		if cause.IsValid() {
			spans = append(spans, startCaused(ctx, msg, ev.ID, cause))
		}
		fut, err := js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish %s: %w", ev.ID, err)
		}
		futs = append(futs, fut)
	}
	for i, fut := range futs {
		if err := awaitAck(ctx, fut); err != nil {
			return err
		}
		if i < len(spans) {
			tracing.End(spans[i], nil)
			ended = i + 1
		}
	}
	return nil
}

// startCaused starts the publish span of msg, the root of a new trace
// linked to cause, and injects it into msg's headers.
func startCaused(ctx context.Context, msg *nats.Msg, id string, cause trace.SpanContext) trace.Span {
	sctx, span := tracing.StartPublish(ctx, msg.Subject, id, trace.WithNewRoot(), tracing.LinkTo(cause))
	tracing.Inject(sctx, msg.Header)
	return span
}

// awaitAck waits for fut's ack.
func awaitAck(ctx context.Context, fut jetstream.PubAckFuture) error {
	select {
	case <-fut.Ok():
		return nil
	case err := <-fut.Err():
		return fmt.Errorf("publish %s: %w", fut.Msg().Header.Get(nats.MsgIdHdr), err)
	case <-ctx.Done():
		return fmt.Errorf("publish: %w", ctx.Err())
	}
}
