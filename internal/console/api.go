package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/regen-dev/regen/bus"
)

// Limits of the list endpoints.
const (
	listDefault = 100
	dlqListMax  = 500
)

// apiError is the JSON body of every refused or failed request.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone when this fails
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// limit is the request's ?limit=N within [1, most] (def without one).
func limit(r *http.Request, def, most int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, most)
}

// getSnapshot answers the current Snapshot.
func (c *Console) getSnapshot(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, c.state.snapshot(time.Now()))
}

// getFeed answers the newest telemetry records (?limit=N), newest first.
func (c *Console) getFeed(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.state.feedItems(limit(r, listDefault, c.cfg.FeedSize)))
}

// getDeployments answers the newest deployments whose node or path
// contains ?q= (?limit=N), newest first.
func (c *Console) getDeployments(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.state.deployments(r.URL.Query().Get("q"), limit(r, listDefault, c.cfg.DeploySize)))
}

// getDLQ answers the first dead letters (?limit=N, at most dlqListMax),
// oldest first, without their payloads.
func (c *Console) getDLQ(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := c.requestContext(r)
	defer cancel()
	n := limit(r, listDefault, dlqListMax)
	out := []bus.DeadLetter{}
	for dl, err := range c.dlq.All(ctx, 0) {
		if err != nil {
			writeError(w, http.StatusBadGateway, err.Error())
			return
		}
		dl.OriginalHeaders = nil
		if out = append(out, dl); len(out) == n {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}
