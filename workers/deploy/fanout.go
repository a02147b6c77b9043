package deploy

import (
	"context"

	"github.com/regen-dev/regen/bus/wire"
)

// Deployer writes one artifact and reports whether it wrote anything
// (false: the ledger found it unchanged or stale).
type Deployer interface {
	Deploy(ctx context.Context, a wire.Artifact) (bool, error)
}

// Fanout deploys each artifact to every target in order and stops at the
// first error. It reports a write when any target wrote.
type Fanout []Deployer

// Deploy writes a to every target.
func (f Fanout) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	deployed := false
	for _, d := range f {
		ok, err := d.Deploy(ctx, a)
		if err != nil {
			return deployed, err
		}
		deployed = deployed || ok
	}
	return deployed, nil
}
