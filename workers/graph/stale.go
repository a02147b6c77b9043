package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// StaleEvent is the artifact_stale event of task, caused by cause. Its id
// is derived from the artifact and the revision, so that the same request
// made twice (a redelivered cause) is stored once by the stream's
// duplicate window.
func StaleEvent(cause wire.Change, task StaleTask) wire.ChangeEvent {
	rev := strconv.FormatUint(task.Revision, 10)
	sum := sha256.Sum256([]byte(task.ID.key() + "\x00" + rev))
	meta := map[string]string{wire.MetaTemplate: task.ID.Template, MetaRevision: rev, "cause": cause.Event.ID}
	subject := task.ID.Node
	if subject == "" {
		subject, meta[metaScope] = task.ID.Template, ScopeModel
	}
	return wire.ChangeEvent{ID: "stale-" + hex.EncodeToString(sum[:16]), ChangeType: wire.ArtifactStale,
		Timestamp: time.Now().UTC(), Subject: subject, Source: "regen", Metadata: meta}
}

// metaScope marks (with ScopeModel) an artifact_stale event about a
// model-scoped artifact.
const metaScope = "scope"
