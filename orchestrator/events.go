package orchestrator

import (
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

func (o *Orchestrator) publishDeployStarted(ch wire.Change, a wire.Artifact) {
	o.publish(wire.DeploymentStarted, map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "hash": a.Hash, "template": a.Template, "node": a.Node, "revision": a.Revision,
		"deleted": a.Delete})
}

func (o *Orchestrator) publishDeployed(ch wire.Change, a wire.Artifact, d time.Duration) {
	o.publish(wire.DeploymentCompleted, map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "hash": a.Hash, "template": a.Template, "node": a.Node, "revision": a.Revision,
		"deleted": a.Delete, "duration_ms": float64(d) / float64(time.Millisecond)})
}

func (o *Orchestrator) publishDeployFailed(ch wire.Change, a wire.Artifact, err error) {
	o.publish(wire.DeploymentFailed, map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"path": a.Path, "template": a.Template, "node": a.Node, "error": err.Error(),
		"deliveries": ch.Deliveries})
}

func (o *Orchestrator) publishFailed(ch wire.Change, stage string, err error) {
	if stage != "regenerate" {
		return // deployment_failed was already published per artifact
	}
	o.publish(wire.RegenerationFailed, map[string]any{"event_id": ch.Event.ID, "execution_id": ch.ExecutionID,
		"change_type": ch.Event.ChangeType, "subject": ch.Event.Subject, "error": err.Error(),
		"deliveries": ch.Deliveries})
}

func (o *Orchestrator) publishRejected(m wire.Message, eventID, execID, reason string, cause error) {
	errText := ""
	if cause != nil {
		errText = cause.Error()
	}
	o.publish(wire.EventRejected, map[string]any{"event_id": eventID, "execution_id": execID,
		"reason": reason, "error": errText, "nats_subject": m.Subject(), "seq": m.Seq(),
		"deliveries": m.Deliveries(), "dlq_subject": wire.DLQSubject(changeTypeFromSubject(m.Subject()))})
}

// changeTypeFromSubject reads the last token of regen.changes.<p>.<type>.
func changeTypeFromSubject(subj string) wire.ChangeType {
	for i := len(subj) - 1; i >= 0; i-- {
		if subj[i] == '.' {
			return wire.ChangeType(subj[i+1:])
		}
	}
	return ""
}
