package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/regen-dev/regen/bus/wire"

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
	fut, err := p.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("publish %s: %w", ev.ID, err)
	}
	p.pending = append(p.pending, fut)
	if len(p.pending) >= maxInFlight {
		return p.wait(ctx)
	}
	return nil
}

// wait collects the acks of every pending publish.
func (p *publisher) wait(ctx context.Context) error {
	for _, fut := range p.pending {
		select {
		case <-fut.Ok():
			p.sent++
			if p.bar != nil {
				_ = p.bar.Add(1)
			}
		case err := <-fut.Err():
			p.failed++
			fmt.Fprintf(p.stderr, "publish %s: %v\n", fut.Msg().Header.Get(nats.MsgIdHdr), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
			return fmt.Errorf("publish: no ack after 30s (is JetStream up and REGEN_CHANGES provisioned?)")
		}
	}
	p.pending = p.pending[:0]
	return nil
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
