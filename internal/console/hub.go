package console

import "sync"

// subscriberBuffer is how many feed items a slow page may fall behind
// before items are dropped for it.
const subscriberBuffer = 256

// hub fans feed items out to the open event streams. Safe for concurrent
// use; publish never blocks (a full subscriber misses the item).
type hub struct {
	mu   sync.Mutex
	subs map[chan feedItem]struct{}
}

func newHub() *hub { return &hub{subs: map[chan feedItem]struct{}{}} }

// subscribe returns a channel of the items published from now on and the
// function that ends the subscription (the channel is never closed).
func (h *hub) subscribe() (<-chan feedItem, func()) {
	ch := make(chan feedItem, subscriberBuffer)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

func (h *hub) publish(item feedItem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- item:
		default:
		}
	}
}

// count is the number of open subscriptions.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
