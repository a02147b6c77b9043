// Package wire owns regen's public wire schema and the contracts every
// part of a replica shares, without linking a broker: the change event
// (ChangeEvent, its decoder and validation, Properties), the telemetry
// event and one struct per telemetry payload, the Artifact an engine
// renders and a deployer writes (with CleanPath and ContentHash), the
// stream, subject and bucket names, the shared consumer and its defaults,
// the Message seam a Source delivers, the dead-letter reasons, and the one
// vocabulary for failures that no retry can fix (ErrPermanent, Permanent,
// PermanentReason).
//
//	ev, err := wire.DecodeChangeEvent(payload, 0)
//	if err != nil {
//		reason := wire.ReasonOf(err) // bad_json, missing_id, ...
//	}
//	subject := ev.NATSSubject(wire.PriorityNormal)
//
// It imports the standard library, nats.go's Header type and a JSON
// decoder; never nats-server.
package wire
