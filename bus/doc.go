// Package bus owns everything regen says to or hears from NATS:
// connecting, provisioning streams, consumers, KV buckets and the object
// store, the batch Source the orchestrator pulls from (with ack
// confirmation in bursts), the telemetry publisher, the dead-letter queue
// and the reaper of events whose deliveries ran out. The wire types it
// carries live in bus/wire; the in-process server in bus/embedded.
//
//	nc, js, _ := bus.Connect(ctx, bus.ConnConfig{URLs: "nats://127.0.0.1:4222"})
//	_ = bus.Provision(ctx, js, bus.ProvisionConfig{})
//	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
//	batch, _ := src.Fetch(ctx, 64, time.Second)
package bus
