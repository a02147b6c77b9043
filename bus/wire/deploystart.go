package wire

import "context"

// DeployStartedKey is the context key of the hook a deployer calls when it
// starts writing an artifact. Callers set it with WithDeployStarted (or,
// to spare an allocation on a hot path, in a context of their own that
// answers Value(DeployStartedKey{}) with a func()); deployers call
// DeployStarted.
type DeployStartedKey struct{}

// WithDeployStarted returns a copy of ctx whose deployer calls started
// when it begins to write an artifact.
func WithDeployStarted(ctx context.Context, started func()) context.Context {
	return context.WithValue(ctx, DeployStartedKey{}, started)
}

// DeployStarted tells whoever deploys through ctx that the write of an
// artifact begins: the deployer has decided it is not a skip (the content
// is new) and holds the path. A deployer calls it at most once per
// attempt, just before writing; without a hook in ctx it does nothing.
func DeployStarted(ctx context.Context) {
	if started, ok := ctx.Value(DeployStartedKey{}).(func()); ok && started != nil {
		started()
	}
}
