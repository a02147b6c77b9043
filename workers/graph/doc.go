// Package graph owns the graph engine: the source model kept in a
// JetStream KV bucket (one key per node; every property and edge is a
// register that the change with the highest stream sequence wins, so any
// processing order converges), the templates with their front matter
// (what a template matches, where its output goes, what it depends on),
// the view a template sees (NodeView, EdgeView) and its functions.
//
//	model := graph.NewModel(modelKV)
//	eng, err := graph.NewEngine(graph.Config{Templates: "templates", Model: model})
//	if err != nil {
//		return err
//	}
//	arts, err := eng.Regenerate(ctx, change)
//
// A failure caused by the data (an unsafe output path, a template that
// fails on a node, a template_changed naming no template) matches
// wire.ErrPermanent.
package graph
