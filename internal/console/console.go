package console

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus"
)

// Console is the live console: an http.Handler serving the page, the API
// and the event stream. Its loops (the telemetry feed and the polls) run
// from the first request it serves after Start until Stop, or until it
// has been idle (no request, no open event stream) for Config.Idle: a
// replica whose console nobody watches reads nothing. Its methods are safe for
// concurrent use; Stop is safe to call twice.
type Console struct {
	cfg   Config
	log   *slog.Logger
	state *state
	hub   *hub
	dlq   *bus.DeadLetters
	mux   *http.ServeMux

	lastUse atomic.Int64 // unix nanoseconds of the last request

	mu      sync.Mutex
	base    context.Context // set by Start: the loops' parent
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closing chan struct{} // closed by Stop: open event streams end
}

// New returns a stopped console for cfg (defaults filled in).
func New(cfg Config) (*Console, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, log: cfg.Logger.With(slog.String("component", "console")), state: newState(cfg),
		hub: newHub(), dlq: bus.NewDeadLetters(cfg.JetStream), closing: make(chan struct{})}
	c.mux = c.routes()
	return c, nil
}

// routes maps the page, the API and the event stream.
func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", serveAsset)
	mux.HandleFunc("GET /api/snapshot", c.getSnapshot)
	mux.HandleFunc("GET /api/events", c.events)
	mux.HandleFunc("GET /api/feed", c.getFeed)
	mux.HandleFunc("GET /api/deployments", c.getDeployments)
	mux.HandleFunc("GET /api/story", c.getStory)
	mux.HandleFunc("GET /api/dlq", c.getDLQ)
	mux.Handle("POST /api/dlq/replay", c.mutating(c.replay))
	mux.Handle("POST /api/dlq/purge", c.mutating(c.purge))
	mux.Handle("POST /api/levels/{priority}/pause", c.mutating(c.pause))
	mux.Handle("POST /api/levels/{priority}/resume", c.mutating(c.resume))
	return mux
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	c.run()
	c.mux.ServeHTTP(w, r)
}

// Start arms the console: its loops begin with the first request it
// serves. ctx's values are kept, not its cancellation (Stop ends the
// loops). A second Start, or a Start after Stop, does nothing.
func (c *Console) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == nil && !c.stopped() {
		c.base = context.WithoutCancel(ctx)
	}
}

// run marks the console used now and starts its loops when it is armed
// and they are not running.
func (c *Console) run() {
	c.lastUse.Store(time.Now().UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == nil || c.cancel != nil || c.stopped() {
		return
	}
	ctx, cancel := context.WithCancel(c.base)
	c.cancel = cancel
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.loops(ctx, cancel) }()
}

// loops runs the feed and the polls until ctx is done (Stop, or the poll
// loop found the console idle), then forgets what they gathered: the
// next run seeds everything again.
func (c *Console) loops(ctx context.Context, cancel context.CancelFunc) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.feedLoop(ctx) }()
	go func() { defer wg.Done(); c.pollLoop(ctx, cancel) }()
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	cancel()
	c.cancel = nil
	c.state.reset()
}

// idle reports whether no event stream is open and no request came for
// Idle.
func (c *Console) idle(now time.Time) bool {
	return c.hub.count() == 0 && now.Sub(time.Unix(0, c.lastUse.Load())) > c.cfg.Idle
}

// stopped reports whether Stop was called; c.mu is held.
func (c *Console) stopped() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// Stop ends the loops and the open event streams and waits for the loops
// until ctx is done (then it returns ctx.Err()). Safe to call twice and
// before Start.
func (c *Console) Stop(ctx context.Context) error {
	c.mu.Lock()
	cancel := c.cancel
	if !c.stopped() {
		close(c.closing)
	}
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
