package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
)

// PublishChanges publishes evs on the changes stream at priority p, each
// with Nats-Msg-Id = its id (so a repeat inside the stream's duplicate
// window is stored once), and returns once every one is stored.
func PublishChanges(ctx context.Context, js jetstream.JetStream, p wire.Priority, evs []wire.ChangeEvent) error {
	futs := make([]jetstream.PubAckFuture, 0, len(evs))
	for _, ev := range evs {
		data, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("publish %s: encode: %w", ev.ID, err)
		}
		msg := nats.NewMsg(ev.NATSSubject(p))
		msg.Data = data
		msg.Header.Set(nats.MsgIdHdr, ev.ID)
		fut, err := js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish %s: %w", ev.ID, err)
		}
		futs = append(futs, fut)
	}
	for _, fut := range futs {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			return fmt.Errorf("publish %s: %w", fut.Msg().Header.Get(nats.MsgIdHdr), err)
		case <-ctx.Done():
			return fmt.Errorf("publish: %w", ctx.Err())
		}
	}
	return nil
}
