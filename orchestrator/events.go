package orchestrator

// The event-scoped telemetry below carries the trace id of the event's
// delivery span (traceID, "" when it is not traced).

import (
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

func (o *Orchestrator) publishDeployStarted(traceID string, ch wire.Change, a wire.Artifact) {
	o.publishTraced(traceID, wire.DeploymentStartedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Hash: a.Hash, Template: a.Template, Node: a.Node, Revision: a.Revision,
		Deleted: a.Delete})
}

func (o *Orchestrator) publishDeployed(traceID string, ch wire.Change, a wire.Artifact, d time.Duration) {
	o.publishTraced(traceID, wire.DeploymentCompletedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Hash: a.Hash, Template: a.Template, Node: a.Node, Revision: a.Revision,
		Deleted: a.Delete, DurationMS: float64(d) / float64(time.Millisecond)})
}

func (o *Orchestrator) publishDeployFailed(traceID string, ch wire.Change, a wire.Artifact, err error) {
	o.publishTraced(traceID, wire.DeploymentFailedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Template: a.Template, Node: a.Node, Error: err.Error(),
		Deliveries: ch.Deliveries})
}

func (o *Orchestrator) publishFailed(traceID string, ch wire.Change, stage string, err error) {
	if stage != "regenerate" {
		return // deployment_failed was already published per artifact
	}
	o.publishTraced(traceID, wire.RegenerationFailedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		ChangeType: ch.Event.ChangeType, Subject: ch.Event.Subject, Error: err.Error(),
		Deliveries: ch.Deliveries})
}

func (o *Orchestrator) publishRejected(traceID string, m wire.Message, eventID, execID, reason string, cause error) {
	errText := ""
	if cause != nil {
		errText = cause.Error()
	}
	o.publishTraced(traceID, wire.EventRejectedData{EventID: eventID, ExecutionID: execID,
		Reason: reason, Error: errText, NATSSubject: m.Subject(), Seq: m.Seq(),
		Deliveries: m.Deliveries(), DLQSubject: wire.DLQSubject(changeTypeFromSubject(m.Subject()))})
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
