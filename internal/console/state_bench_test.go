package console

import (
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// BenchmarkIngestDeployment is the cost of one deployment_completed
// record, the most frequent type, when the console seeds or follows.
func BenchmarkIngestDeployment(b *testing.B) {
	raw, err := wire.EncodeTelemetry(wire.TelemetryEvent{ID: "id", Type: wire.DeploymentCompleted, Timestamp: time.Now(),
		Component: "deployer", Replica: "r1", Data: wire.DeploymentCompletedData{EventID: "e1", ExecutionID: "x1",
			Path: "types/person_f5910e77c721.go", Hash: "c0a43bc7ea384125ac0007fc8408695ac80f5a785c71caffcc509ddd3e06ef3b",
			Node: "http://xmlns.com/foaf/0.1/Person", Template: "go-struct", Revision: 178, DurationMS: 3.2}})
	if err != nil {
		b.Fatal(err)
	}
	s := newState(Config{}.WithDefaults())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s.ingest(raw, now)
	}
}
