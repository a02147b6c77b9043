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
//	o, err := orchestrator.New(orchestrator.DefaultConfig(), orchestrator.Deps{
//		Source: src, Engine: eng, Deployer: dep, Telemetry: tel, DeadLetters: dlq,
//	})
//	if err := o.Start(ctx); err != nil { ... }
//	defer o.Stop(context.Background())
package orchestrator
