package benchkit

import (
	"context"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// oneArtifact is what the synthetic engines return: one artifact, shared
// read-only so the engine itself allocates nothing.
var oneArtifact = []wire.Artifact{{Path: "bench/artifact.txt", Hash: "0", Template: "bench", Node: "bench"}}

// waitEngine "regenerates" one artifact after waiting d (0: at once), the
// way an I/O-bound generator spends its time: off the CPU.
type waitEngine struct{ d time.Duration }

// Regenerate waits d or until ctx ends.
func (w waitEngine) Regenerate(ctx context.Context, _ wire.Change) ([]wire.Artifact, error) {
	if w.d <= 0 {
		return oneArtifact, nil
	}
	t := time.NewTimer(w.d)
	defer t.Stop()
	select {
	case <-t.C:
		return oneArtifact, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noopDeployer deploys nothing: every artifact is reported as already
// deployed (skipped), so no deployment telemetry is produced.
type noopDeployer struct{}

// Deploy returns at once.
func (noopDeployer) Deploy(context.Context, wire.Artifact) (bool, error) { return false, nil }
