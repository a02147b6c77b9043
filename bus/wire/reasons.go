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
	// ReasonUnsafePath: an artifact path CleanPath refuses.
	ReasonUnsafePath = "unsafe_path"
	// ReasonPathTooLong: an artifact path the file system refuses as too
	// long (ENAMETOOLONG).
	ReasonPathTooLong = "path_too_long"
	// ReasonPathConflict: an artifact path that clashes with what is
	// deployed (a directory where a file goes, a file where a directory
	// goes).
	ReasonPathConflict = "path_conflict"
	// ReasonPathEscapes: an artifact path that leads outside the deploy
	// root through a symlink inside it.
	ReasonPathEscapes = "path_escapes"
	// ReasonValidation: a validator refused an artifact.
	ReasonValidation = "validation_failed"
	// ReasonNodeTooLarge: a node grew past what the model can store.
	ReasonNodeTooLarge = "node_too_large"
	// ReasonRenderTimeout: a template render outlived the event's deadline.
	ReasonRenderTimeout = "render_timeout"
	// ReasonRenderTooCostly: a template's ranges would run more iterations
	// on this data than one render may.
	ReasonRenderTooCostly = "render_too_costly"
	// ReasonPermanent is the reason of a permanent failure that names none.
	ReasonPermanent = "permanent_error"
)
