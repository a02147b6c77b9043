package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/tracing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
)

// maxInFlight bounds async publishes awaiting their ack.
const maxInFlight = 4096

// send publishes one event asynchronously with Nats-Msg-Id = its id.
func (p *publisher) send(ctx context.Context, ev wire.ChangeEvent, data []byte) error {
	msg := nats.NewMsg(ev.NATSSubject(p.prio))
	msg.Data = data
	msg.Header.Set(nats.MsgIdHdr, ev.ID)
	sctx, span := tracing.StartPublish(ctx, msg.Subject, ev.ID)
	tracing.Inject(sctx, msg.Header)
	fut, err := p.js.PublishMsgAsync(msg)
	if err != nil {
		err = fmt.Errorf("publish %s: %w", ev.ID, err)
		tracing.End(span, err)
		p.abandon(0, err)
		return err
	}
	p.pending = append(p.pending, fut)
	p.spans = append(p.spans, span)
	if len(p.pending) >= maxInFlight {
		return p.wait(ctx)
	}
	return nil
}

// wait collects the acks of every pending publish, ending the publish
// span of each when its ack resolves (or, on return early, with the error
// that stopped the wait).
func (p *publisher) wait(ctx context.Context) (err error) {
	i := 0
	defer func() { p.abandon(i, err) }()
	for ; i < len(p.pending); i++ {
		fut, span := p.pending[i], p.spans[i]
		select {
		case <-fut.Ok():
			p.sent++
			tracing.End(span, nil)
			if p.bar != nil {
				_ = p.bar.Add(1)
			}
		case err := <-fut.Err():
			p.failed++
			tracing.End(span, err)
			fmt.Fprintf(p.stderr, "publish %s: %v\n", fut.Msg().Header.Get(nats.MsgIdHdr), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return fmt.Errorf("publish: no ack after 30s (is JetStream up and REGEN_CHANGES provisioned?)")
		}
	}
	return nil
}

// abandon ends the publish spans of the pending publishes from i on with
// err (those before i ended when their acks resolved) and forgets every
// pending publish.
func (p *publisher) abandon(i int, err error) {
	for _, span := range p.spans[i:] {
		tracing.End(span, err)
	}
	p.pending, p.spans = p.pending[:0], p.spans[:0]
}

// synthetic publishes n random valid events over a small graph.
func (p *publisher) synthetic(ctx context.Context, n int) error {
	p.start(n)
	for i := range n {
		ev := syntheticEvent(i)
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := p.send(ctx, ev, data); err != nil {
			return err
		}
	}
	return p.wait(ctx)
}

// syntheticEvent returns a random valid event: mostly node adds and
// updates, some edges, over nodes urn:synthetic:Node<k>.
func syntheticEvent(i int) wire.ChangeEvent {
	node := func() string { return fmt.Sprintf("urn:synthetic:Node%d", rand.IntN(max(i/4, 16))) }
	ev := wire.ChangeEvent{ID: uuid.NewString(), Timestamp: time.Now().UTC(), Subject: node(),
		Source: "regen-publish-synthetic", ChangeType: wire.NodeAdded,
		Properties: wire.MustProperties(map[string]any{"rdfs:label": fmt.Sprintf("Node %d", i), "n": i})}
	switch r := rand.IntN(10); {
	case r < 2:
		ev.ChangeType = wire.NodeUpdated
	case r < 4:
		pred, obj := "rdfs:subClassOf", node()
		ev.ChangeType, ev.Predicate, ev.Object, ev.Properties = wire.EdgeAdded, &pred, &obj, wire.Properties{}
	}
	return ev
}
