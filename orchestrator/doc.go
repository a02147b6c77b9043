// Package orchestrator owns the regeneration loop: it fetches batches of
// change events from a Source, runs one cycle per batch with bounded
// parallelism, drives each event through the Engine and the Deployer (each
// behind its own Guard), acknowledges every message by the ack policy,
// keeps OrchestrationStats, and reports everything as telemetry.
//
// The interfaces it needs (Source, Engine, Deployer, Telemetry,
// DeadLetterer, Guard) are defined here, so unit tests run with fakes and
// production wires the bus and workers packages in.
//
// Coalescing: when the Engine is also a GroupEngine, a cycle decodes its
// whole batch first and groups the valid events by GroupEngine.GroupKey.
// The events of one group (one node, say) are applied by one
// RegenerateGroup call and rendered and deployed once, under one slot of
// the concurrency bound; each event still gets its own outcome, ack and
// telemetry. Invalid events and events without a key are processed one by
// one, as in every cycle without a GroupEngine.
//
// Cost accounting: each event's context carries its worker's
// cost.Recorder, to which the orchestrator, the engine and the deployers
// add what the event cost; every health interval the sums become a
// cost_report, which bounds the scaling advice and the tuner (cost.go).
//
//	o, err := orchestrator.New(orchestrator.DefaultConfig(), orchestrator.Deps{
//		Source: src, Engine: eng, Deployer: dep, Telemetry: tel, DeadLetters: dlq,
//	})
//	if err := o.Start(ctx); err != nil { ... }
//	defer o.Stop(context.Background())
package orchestrator
