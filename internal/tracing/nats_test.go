package tracing_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/internal/tracing"
)

// TestNATSRoundTrip carries the publish span through JetStream: the
// delivery read back from a pull consumer continues the same trace.
func TestNATSRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	kit := testkit.Setup(t)
	ctx := kit.Ctx
	if _, err := kit.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "TRACING_RT", Subjects: []string{"regen.changes.>"}}); err != nil {
		t.Fatal(err)
	}

	pctx, pub := b.tracer.StartPublish(context.Background(), subject, msgID)
	msg := nats.NewMsg(subject)
	msg.Data = []byte(`{}`)
	msg.Header.Set(nats.MsgIdHdr, msgID)
	b.tracer.Inject(pctx, msg.Header)
	_, err := kit.JS.PublishMsg(ctx, msg)
	tracing.End(pub, err)
	if err != nil {
		t.Fatal(err)
	}

	cons, err := kit.JS.CreateConsumer(ctx, "TRACING_RT", jetstream.ConsumerConfig{Durable: consumer, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	md, err := got.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	dctx, del := b.tracer.StartDelivery(context.Background(), got.Headers(), got.Subject(), consumer, got.Headers().Get(nats.MsgIdHdr), md.NumDelivered)
	_, ack := b.tracer.StartStage(dctx, tracing.StageAck)
	tracing.End(ack, got.Ack())
	del.End()

	spans := b.byName(t)
	p := mustSpan(t, spans, "publish "+subject)
	d := mustSpan(t, spans, "process "+subject)
	mustChild(t, d, p)
	mustChild(t, mustSpan(t, spans, tracing.StageAck), d)
	mustAttr(t, d, "messaging.message.id", msgID)
	mustAttr(t, d, "messaging.nats.message.delivery_count", "1")
}
