// Package workers holds regen's built-in engine and deployers: the graph
// engine that applies change events to a model kept in a JetStream KV bucket
// (last writer wins per field, by stream sequence) and renders the affected
// Go text/template templates, and the dir and object-store deployers that
// write the resulting artifacts exactly once per content and never over a
// newer revision, through a shared Ledger.
//
//	model := workers.NewModel(modelKV)
//	eng, _ := workers.NewGraphEngine(workers.GraphConfig{Templates: "templates", Model: model})
//	arts, _ := eng.Regenerate(ctx, change)
//	dep := &workers.DirDeployer{Root: "out", Ledger: workers.NewLedger(artifactKV, "dir:out")}
//	for _, a := range arts {
//		_, _ = dep.Deploy(ctx, a)
//	}
//
// Errors that no retry can fix (an unsafe output path, a template that fails
// on a node, a validation hook refusing an artifact) match ErrPermanent.
package workers
