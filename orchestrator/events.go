package orchestrator

import (
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

func (o *Orchestrator) publishDeployStarted(ch wire.Change, a wire.Artifact) {
	o.publish(wire.DeploymentStartedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Hash: a.Hash, Template: a.Template, Node: a.Node, Revision: a.Revision,
		Deleted: a.Delete})
}

func (o *Orchestrator) publishDeployed(ch wire.Change, a wire.Artifact, d time.Duration) {
	o.publish(wire.DeploymentCompletedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Hash: a.Hash, Template: a.Template, Node: a.Node, Revision: a.Revision,
		Deleted: a.Delete, DurationMS: float64(d) / float64(time.Millisecond)})
}

func (o *Orchestrator) publishDeployFailed(ch wire.Change, a wire.Artifact, err error) {
	o.publish(wire.DeploymentFailedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		Path: a.Path, Template: a.Template, Node: a.Node, Error: err.Error(),
		Deliveries: ch.Deliveries})
}

func (o *Orchestrator) publishFailed(ch wire.Change, stage string, err error) {
	if stage != "regenerate" {
		return // deployment_failed was already published per artifact
	}
	o.publish(wire.RegenerationFailedData{EventID: ch.Event.ID, ExecutionID: ch.ExecutionID,
		ChangeType: ch.Event.ChangeType, Subject: ch.Event.Subject, Error: err.Error(),
		Deliveries: ch.Deliveries})
}

func (o *Orchestrator) publishRejected(m wire.Message, eventID, execID, reason string, cause error) {
	errText := ""
	if cause != nil {
		errText = cause.Error()
	}
	o.publish(wire.EventRejectedData{EventID: eventID, ExecutionID: execID,
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
