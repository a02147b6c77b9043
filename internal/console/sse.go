package console

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// helloFeed is how many feed items the first message of a stream carries.
const helloFeed = 200

// hello is the first message of an event stream.
type hello struct {
	Snapshot Snapshot          `json:"snapshot"`
	Feed     []json.RawMessage `json:"feed"`
}

// events is the Server-Sent Events stream of the page: a "hello" (the
// snapshot and the newest feed items), then a "state" snapshot every Push
// and a "telemetry" message per record, until the client leaves or the
// console stops.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any server write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	items, unsubscribe := c.hub.subscribe()
	defer unsubscribe()
	if sendEvent(w, rc, "hello", hello{Snapshot: c.state.snapshot(time.Now()), Feed: c.state.feedItems(helloFeed)}) != nil {
		return
	}
	t := time.NewTicker(c.cfg.Push)
	defer t.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case <-t.C:
			c.run() // an open stream keeps the loops running (restarts them if they just went idle)
			err = sendEvent(w, rc, "state", c.state.snapshot(time.Now()))
		case item := <-items:
			err = sendEvent(w, rc, "telemetry", item.Raw)
		}
		if err != nil {
			return
		}
	}
}

// sendEvent writes one SSE message of the given event name and flushes.
func sendEvent(w io.Writer, rc *http.ResponseController, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	return nil
}
