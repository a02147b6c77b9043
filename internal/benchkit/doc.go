// Package benchkit is regen's performance suite (`regen bench`): it starts
// an embedded nats-server, drives the real orchestrator against it with
// synthetic engines, measures the same workloads with baselines (a plain
// JetStream Fetch+Ack loop, the Watermill Router as a subprocess) in the
// same run, and reports ratios, because absolute numbers on a small noisy
// machine say little.
//
//	rep, err := benchkit.Run(ctx, benchkit.Config{Sizes: benchkit.QuickSizes()})
//	if err != nil { ... }
//	rep.WriteTable(os.Stdout)
//
// The RSS figure comes from a child process (the regen binary, or a test
// binary) started with ChildEnv set; such a process must call RunChild
// before anything else (see IsChild).
package benchkit
