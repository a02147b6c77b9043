// Package observe makes a replica visible from outside: Prometheus metrics
// (Metrics, an orchestrator.Observer on its own registry), an HTTP server
// with /metrics, /healthz, /readyz and optional /debug/pprof/ (Server), and
// the cluster view, where each replica publishes its stats snapshot to the
// REGEN_REPLICAS KV bucket (Registry) for `regen stats` (ListReplicas).
//
// internal/app wires it all through Start:
//
//	m := observe.NewMetrics()                       // before the orchestrator: Deps.Observer = m
//	obs, err := observe.Start(ctx, observe.Config{HTTP: ":8080", Replica: "r1"},
//		observe.Deps{Metrics: m, Orchestrator: orch, Conn: nc, JetStream: js})
//	...
//	obs.Drain()            // first thing on stop: /readyz answers 503
//	orch.Stop(ctx)
//	obs.Stop(ctx)          // deletes the replica's key, shuts the server down
package observe
