package wire

// Dead-letter reasons of the input contract (README "Change events").
const (
	// ReasonBadUTF8 is the reason of a payload that is not valid UTF-8,
	// or whose strings escape a lone UTF-16 surrogate (\ud800): decoders
	// replace both with U+FFFD, so two different subjects would become
	// one node.
	ReasonBadUTF8 = "bad_utf8"
	// ReasonBadNATSSubject is the reason of an event delivered on a NATS
	// subject that is not regen.changes.<priority>.<change_type> with one
	// of the four priorities and the eight change types.
	ReasonBadNATSSubject = "bad_nats_subject"
	// ReasonSubjectMismatch is the reason of an event whose NATS subject
	// names another change type than its body's change_type.
	ReasonSubjectMismatch = "subject_mismatch"
	// ReasonTemplateError is the reason of a template that fails to
	// render a node (a missing map key, a helper's error, output too
	// large): no retry renders it.
	ReasonTemplateError = "template_error"
)
