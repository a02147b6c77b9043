// Package bus owns everything regen says to or hears from NATS: connecting
// (or embedding a nats-server), provisioning streams, consumers, KV buckets
// and the object store, the batch Source the orchestrator pulls from, the
// telemetry publisher, the dead-letter queue, and the wire types
// (ChangeEvent, TelemetryEvent, Artifact) with their subject names.
//
//	nc, js, _ := bus.Connect(ctx, bus.ConnConfig{URLs: "nats://127.0.0.1:4222"})
//	_ = bus.Provision(ctx, js, bus.ProvisionConfig{})
//	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
//	batch, _ := src.Fetch(ctx, 64, time.Second)
package bus
