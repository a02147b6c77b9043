package wire_test

import (
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

// TestReasonTokens pins the dead-letter reasons: they are public (the
// Regen-Reason header, event_rejected, the metrics), so a change of value
// is a change of the wire schema.
func TestReasonTokens(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		wire.ReasonBadJSON:           "bad_json",
		wire.ReasonBadID:             "bad_id",
		wire.ReasonBadProperties:     "bad_properties",
		wire.ReasonBadSubject:        "bad_subject",
		wire.ReasonEdgeIncomplete:    "edge_incomplete",
		wire.ReasonMissingID:         "missing_id",
		wire.ReasonMissingSubject:    "missing_subject",
		wire.ReasonOversize:          "oversize",
		wire.ReasonUnknownChangeType: "unknown_change_type",
		wire.ReasonMaxDeliveries:     "max_deliveries",
		wire.ReasonValidation:        "validation_failed",
		wire.ReasonPermanent:         "permanent_error",
	} {
		mustEqual(t, "reason", got, want)
	}
}
