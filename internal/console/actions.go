package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
)

// maxBody bounds the JSON body of a mutating request.
const maxBody = 4096

// result is the answer of a mutating request that succeeded.
type result struct {
	OK       bool   `json:"ok"`
	Message  string `json:"message"`
	Replayed *int   `json:"replayed,omitempty"`
}

// requestContext bounds a request's NATS calls by RequestTimeout.
func (c *Console) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), c.cfg.RequestTimeout)
}

// mutating refuses, with 403 and a JSON error, a request without the
// console token (see authorize) and, with 415, one whose body is not
// JSON; it logs what was done (never the token).
func (c *Console) mutating(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := authorize(r, c.cfg.Token); why != "" {
			writeError(w, http.StatusForbidden, why)
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		c.log.InfoContext(r.Context(), "console action", slog.String("path", r.URL.Path),
			slog.String("remote", r.RemoteAddr))
		h(w, r)
		c.pollOnce(r.Context()) // the next state message shows the action's effect
	})
}

// decode reads the optional JSON body into v.
func decode(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) { // an empty body is no fields
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// replayRequest is the body of POST /api/dlq/replay: one id, or all.
type replayRequest struct {
	ID  string `json:"id"`
	All bool   `json:"all"`
}

// replay republishes one dead letter (by event id) or all of them.
func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	var req replayRequest
	if err := decode(r, &req); err != nil || (req.ID == "") == !req.All {
		writeError(w, http.StatusBadRequest, `send {"id":"EVENT_ID"} or {"all":true}`)
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	n, err := c.dlq.Replay(ctx, func(dl bus.DeadLetter) bool { return req.All || dl.ID == req.ID })
	switch {
	case err != nil:
		writeError(w, http.StatusBadGateway, fmt.Sprintf("replayed %d, then: %v", n, err))
	case n == 0 && !req.All:
		writeError(w, http.StatusNotFound, fmt.Sprintf("replay %s: %v", req.ID, bus.ErrDeadLetterNotFound))
	default:
		writeJSON(w, http.StatusOK, result{OK: true, Message: fmt.Sprintf("replayed %d dead letters", n), Replayed: &n})
	}
}

// purge removes every dead letter.
func (c *Console) purge(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := c.requestContext(r)
	defer cancel()
	if err := c.dlq.Purge(ctx); err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, result{OK: true, Message: "dead letters purged"})
}

// pauseRequest is the body of POST /api/levels/{priority}/pause.
type pauseRequest struct {
	// For is a Go duration ("10m"); empty: until resumed.
	For string `json:"for"`
}

// pause pauses a priority level's consumer, as `regen pause` does, and
// publishes consumer_paused.
func (c *Console) pause(w http.ResponseWriter, r *http.Request) {
	p, ok := c.level(w, r)
	if !ok {
		return
	}
	var req pauseRequest
	var d time.Duration
	err := decode(r, &req)
	if err == nil && req.For != "" {
		d, err = time.ParseDuration(req.For)
	}
	if err != nil || d < 0 {
		writeError(w, http.StatusBadRequest, `send {"for":"10m"} or {} (until resumed)`)
		return
	}
	var until time.Time
	if d > 0 {
		until = time.Now().Add(d)
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	until, err = bus.PauseLevel(ctx, c.cfg.JetStream, c.cfg.Consumer, p, until)
	if err != nil {
		writeError(w, consumerStatus(err), err.Error())
		return
	}
	name := bus.LevelConsumer(c.cfg.Consumer, p)
	c.announce(ctx, wire.ConsumerPausedData{Consumer: name, Priority: p, PauseUntil: until.UTC()})
	c.state.pausedNow(name, true)
	writeJSON(w, http.StatusOK, result{OK: true, Message: "paused " + name + " until " + until.UTC().Format(time.RFC3339)})
}

// resume resumes a paused level and publishes consumer_resumed.
func (c *Console) resume(w http.ResponseWriter, r *http.Request) {
	p, ok := c.level(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.requestContext(r)
	defer cancel()
	if err := bus.ResumeLevel(ctx, c.cfg.JetStream, c.cfg.Consumer, p); err != nil {
		writeError(w, consumerStatus(err), err.Error())
		return
	}
	name := bus.LevelConsumer(c.cfg.Consumer, p)
	c.announce(ctx, wire.ConsumerResumedData{Consumer: name, Priority: p})
	c.state.pausedNow(name, false)
	writeJSON(w, http.StatusOK, result{OK: true, Message: "resumed " + name})
}

// level is the request's {priority}; an invalid one is answered 400.
func (c *Console) level(w http.ResponseWriter, r *http.Request) (wire.Priority, bool) {
	p := wire.Priority(r.PathValue("priority"))
	if !p.Valid() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("priority: want critical, high, normal or low, got %q", p))
		return "", false
	}
	return p, true
}

// consumerStatus is 404 for a level consumer that does not exist
// (priority_levels false), 502 for any other failure.
func consumerStatus(err error) int {
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}

// announce publishes data as telemetry of component console; a failure
// is logged, the action having been done.
func (c *Console) announce(ctx context.Context, data wire.TelemetryPayload) {
	tel := bus.NewTelemetry(c.cfg.Conn, c.cfg.Replica)
	err := tel.Publish(wire.TelemetryEvent{Type: data.TelemetryType(), Component: ComponentDefault, Data: data})
	if err == nil {
		err = tel.Flush(ctx)
	}
	if err != nil {
		c.log.WarnContext(ctx, "console telemetry not published", slog.String("type", string(data.TelemetryType())),
			slog.Any("error", err))
	}
}
