package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/tracing"
)

// storyTypes are the telemetry types that name an event id.
var storyTypes = []wire.TelemetryType{wire.RegenerationFailed, wire.DeploymentStarted, wire.DeploymentCompleted,
	wire.DeploymentFailed, wire.EventRejected}

// storyBatch is how many records one fetch of a story scan asks for.
const storyBatch = 500

// storyDLQScan bounds the dead letters a story looks through.
const storyDLQScan = 10_000

// Step is one thing that happened to an event.
type Step struct {
	At          time.Time          `json:"at"`
	What        string             `json:"what"`
	Type        wire.TelemetryType `json:"type"`
	Replica     string             `json:"replica"`
	ExecutionID string             `json:"execution_id,omitempty"`
	// TraceID is the trace of the delivery the step belongs to, and
	// TraceURL its link when Config.TraceURL is set.
	TraceID  string         `json:"trace_id,omitempty"`
	TraceURL string         `json:"trace_url,omitempty"`
	Detail   map[string]any `json:"detail"`
}

// Story is what the telemetry says happened to one event, oldest first.
type Story struct {
	EventID string `json:"event_id"`
	Steps   []Step `json:"steps"`
	// Scanned counts the records read; Truncated says the scan stopped at
	// StoryScan or StoryTimeout before the end of the stream.
	Scanned   int  `json:"scanned"`
	Truncated bool `json:"truncated"`
	// DeadLetter says the event is in REGEN_DLQ now.
	DeadLetter bool `json:"dead_letter"`
}

// getStory answers the Story of ?id=EVENT_ID.
func (c *Console) getStory(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "send ?id=EVENT_ID")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.cfg.StoryTimeout)
	defer cancel()
	st, err := c.story(ctx, id)
	if err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// story scans the telemetry stream (the types that name an event) for id,
// at most StoryScan records, until ctx is done, and looks id up in the DLQ.
func (c *Console) story(ctx context.Context, id string) (Story, error) {
	st := Story{EventID: id, Steps: []Step{}}
	filters := make([]string, len(storyTypes))
	for i, t := range storyTypes {
		filters[i] = wire.TelemetrySubjectFor(t)
	}
	cons, err := c.cfg.JetStream.OrderedConsumer(ctx, wire.TelemetryStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return st, fmt.Errorf("story %s: %w", id, err)
	}
	if err := c.scanStory(ctx, cons, &st); err != nil {
		return st, err
	}
	st.Steps = delivered(st.Steps)
	st.DeadLetter = c.inDLQ(ctx, id)
	return st, nil
}

// scanStory reads cons in batches until nothing is pending, StoryScan
// records were read or ctx is done (the last two set Truncated).
func (c *Console) scanStory(ctx context.Context, cons jetstream.Consumer, st *Story) error {
	needle := []byte(`"event_id":` + quote(st.EventID))
	for st.Scanned < c.cfg.StoryScan {
		batch, err := cons.FetchNoWait(min(storyBatch, c.cfg.StoryScan-st.Scanned))
		if err != nil {
			return fmt.Errorf("story %s: %w", st.EventID, err)
		}
		n, last := 0, false
		for msg := range batch.Messages() {
			n++
			st.Scanned++
			if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 {
				last = true
			}
			if bytes.Contains(msg.Data(), needle) {
				addStep(st, msg.Data(), c.cfg.TraceURL)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("story %s: %w", st.EventID, err)
		}
		if n == 0 || last {
			return nil
		}
		if ctx.Err() != nil {
			st.Truncated = true
			return nil
		}
	}
	st.Truncated = true
	return nil
}

// addStep decodes one record naming the event into a step, linked to its
// trace by traceURL (a Config.TraceURL).
func addStep(st *Story, raw []byte, traceURL string) {
	var rec wire.TelemetryRecord
	if json.Unmarshal(raw, &rec) != nil || rec.Data["event_id"] != st.EventID {
		return
	}
	exec, _ := rec.Data["execution_id"].(string)
	st.Steps = append(st.Steps, Step{At: rec.Timestamp, What: stepName(rec.Type), Type: rec.Type,
		Replica: rec.Replica, ExecutionID: exec, TraceID: rec.TraceID, TraceURL: tracing.TraceURL(traceURL, rec.TraceID),
		Detail: rec.Data})
}

// stepName is what a record type means for the event.
func stepName(t wire.TelemetryType) string {
	switch t {
	case wire.RegenerationFailed:
		return "retried"
	case wire.DeploymentStarted:
		return "rendered"
	case wire.DeploymentCompleted:
		return "deployed"
	case wire.DeploymentFailed:
		return "deploy failed"
	case wire.EventRejected:
		return "dead-lettered"
	}
	return string(t)
}

// delivered puts a "delivered" step before the first step of each
// execution (a delivery is known by what it did).
func delivered(steps []Step) []Step {
	seen := map[string]bool{}
	out := make([]Step, 0, len(steps)+2)
	for _, s := range steps {
		if s.ExecutionID != "" && !seen[s.ExecutionID] {
			seen[s.ExecutionID] = true
			d := Step{At: s.At, What: "delivered", Replica: s.Replica, ExecutionID: s.ExecutionID,
				TraceID: s.TraceID, TraceURL: s.TraceURL, Detail: map[string]any{}}
			if n, ok := s.Detail["deliveries"]; ok {
				d.Detail["deliveries"] = n
			}
			out = append(out, d)
		}
		out = append(out, s)
	}
	return out
}

// inDLQ reports whether a dead letter of id is among the first
// storyDLQScan of REGEN_DLQ (false when it cannot be read).
func (c *Console) inDLQ(ctx context.Context, id string) bool {
	n := 0
	for dl, err := range c.dlq.All(ctx, 0) {
		if n++; err != nil || n > storyDLQScan {
			return false
		}
		if dl.ID == id {
			return true
		}
	}
	return false
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
