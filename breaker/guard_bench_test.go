package breaker_test

import (
	"context"
	"testing"

	"github.com/regen-dev/regen/breaker"
)

// BenchmarkGuardDo is the success path every event takes twice (engine
// and deployer): a closed circuit, a call that returns nil at once, under
// a caller deadline as the orchestrator's per-event one (which ends before
// the call timeout would, so no context is derived).
func BenchmarkGuardDo(b *testing.B) {
	g, err := breaker.New("bench", breaker.Config{})
	if err != nil {
		b.Fatal(err)
	}
	benchCalls(b, g.Do)
}

// BenchmarkGuardBaseline is the same call without the Guard, for scale.
func BenchmarkGuardBaseline(b *testing.B) {
	benchCalls(b, func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) })
}

// benchCalls runs call on a no-op fn from every P.
func benchCalls(b *testing.B, call func(context.Context, func(context.Context) error) error) {
	ctx, cancel := context.WithTimeout(context.Background(), breaker.CallTimeoutDefault)
	defer cancel()
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}
