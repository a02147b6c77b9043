package wire

// Dead-letter reasons: the short stable tokens of the Regen-Reason header,
// the event_rejected telemetry and the metrics. Invalid input has the
// reason of its InvalidEventError; a permanent failure of an engine or a
// deployer has the reason its PermanentError carries.
const (
	ReasonBadJSON           = "bad_json"
	ReasonBadID             = "bad_id"
	ReasonBadProperties     = "bad_properties"
	ReasonBadSubject        = "bad_subject"
	ReasonEdgeIncomplete    = "edge_incomplete"
	ReasonMissingID         = "missing_id"
	ReasonMissingSubject    = "missing_subject"
	ReasonOversize          = "oversize"
	ReasonUnknownChangeType = "unknown_change_type"
	// ReasonMaxDeliveries is the reason of an event whose deliveries ran out.
	ReasonMaxDeliveries = "max_deliveries"
	// ReasonPermanent is the reason of a permanent failure that names none.
	ReasonPermanent = "permanent_error"
)
