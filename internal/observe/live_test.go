package observe_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestRegistryCountsLiveReplicas(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: wire.ReplicasBucket})
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	cfg := func(id string) observe.RegistryConfig {
		return observe.RegistryConfig{Replica: id, Interval: 20 * time.Millisecond, Logger: discard,
			OnReplicas: func(n int) {
				if id == "a" {
					seen.Store(int64(n))
				}
			}}
	}
	a := observe.NewRegistry(kv, &fakeOrch{}, cfg("a"))
	a.Start(ctx)
	t.Cleanup(func() { _ = a.Stop(ctx) })
	testkit.WaitFor(t, 10*time.Second, "one live replica", func() bool { return seen.Load() == 1 })
	b := observe.NewRegistry(kv, &fakeOrch{}, cfg("b"))
	b.Start(ctx)
	testkit.WaitFor(t, 10*time.Second, "two live replicas", func() bool { return seen.Load() == 2 })
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "one again after a stop", func() bool { return seen.Load() == 1 })
	if n, err := a.Live(ctx); err != nil || n != 1 {
		t.Fatalf("Live = %d, %v", n, err)
	}
}
