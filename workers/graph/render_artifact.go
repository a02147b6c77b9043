package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/tracing"
	"go.opentelemetry.io/otel/trace"
)

// maxRerenders is how many times one artifact is rendered again in a row
// because the model changed under a render whose read set was new.
const maxRerenders = 4

// MetaRevision is the Metadata key of an artifact_stale event holding the
// model revision its render must read at least.
const MetaRevision = "revision"

// renderIDs renders own and derived; when Stale is set, the derived past
// InlineMax are published as artifact_stale events instead. Its time is
// the render stage of the change's cost.
func (e *Engine) renderIDs(ctx context.Context, ch wire.Change, own, derived []ArtifactID) (out []wire.Artifact, err error) {
	start := time.Now()
	ctx, span := tracing.StartStage(ctx, tracing.StageRender)
	defer func() { endRender(ctx, span, start, out, err) }()
	if e.cfg.Stale != nil && len(derived) > e.cfg.InlineMax {
		rev := e.index.Rev()
		tasks := make([]StaleTask, 0, len(derived)-e.cfg.InlineMax)
		for _, id := range derived[e.cfg.InlineMax:] {
			tasks = append(tasks, StaleTask{ID: id, Revision: rev})
		}
		if err = e.cfg.Stale.PublishStale(ctx, ch, tasks); err != nil {
			return nil, fmt.Errorf("publish %d re-renders: %w", len(tasks), err)
		}
		derived = derived[:e.cfg.InlineMax]
	}
	for _, id := range append(own, derived...) {
		arts, err := e.renderOne(ctx, ch, id)
		if err != nil {
			return nil, err
		}
		out = append(out, arts...)
	}
	sortArtifacts(out)
	return out, nil
}

// rendering is one render of one artifact at one model revision.
type rendering struct {
	tmpl    *Template // the template as rendered
	rev     uint64
	path    string // "" = the artifact does not exist in this model
	content []byte
	deps    []string
	old     ReadSet // the read set the index held, if had
	had     bool
	took    time.Duration // the render's own time (timedRenderAt)
	cpu     time.Duration // and its CPU time, when measured
}

// renderOne renders id from the current model and records its read set;
// it returns the artifact and, when the path moved or went away, the
// delete of the old one: the path of the stored record the write
// replaced or deleted, never of the index's copy, which may lag behind
// the bucket (a record already deleted by another render deletes nothing
// again).
func (e *Engine) renderOne(ctx context.Context, ch wire.Change, id ArtifactID) ([]wire.Artifact, error) {
	t, ok := e.templates.Load().Get(id.Template)
	if !ok || (t.Scope == ScopeModel) != (id.Node == "") {
		return e.gone(ctx, ch, id)
	}
	var moved []string // paths of records replaced by the attempts
	for attempt := 1; ; attempt++ {
		rec := cost.From(ctx)
		r, err := bounded(e, ctx, "render "+id.String(), func() (rendering, error) { return e.timedRenderAt(ctx, rec, t, id) })
		rec.RenderedCPU(id.Template, r.took, r.cpu, len(r.content))
		if err != nil {
			return nil, err
		}
		e.renders.Add(1)
		e.rendered.Store(id.key(), r.rev)
		st, again, err := e.record(ctx, id, r, t.Scope == ScopeModel)
		if err != nil {
			return nil, err
		}
		if st.replaced != nil {
			moved = append(moved, st.replaced.Path)
		}
		if st.newer != nil {
			return nil, nil // a later render's record won: it deploys
		}
		if !again || attempt == maxRerenders {
			return artifactsOf(ch, r.tmpl, id, r, moved), nil
		}
	}
}

// artifactsOf is what deploying rendering r of id takes: the content
// (when the path is not empty) and the delete of every earlier path in
// moved that is not r's.
func artifactsOf(ch wire.Change, t *Template, id ArtifactID, r rendering, moved []string) []wire.Artifact {
	var out []wire.Artifact
	slices.Sort(moved)
	for _, p := range slices.Compact(moved) {
		if p != "" && p != r.path {
			out = append(out, deleteArtifact(ch, id, p, r.rev))
		}
	}
	if r.path != "" {
		a := newArtifact(ch, id, r.path, r.rev)
		a.Content, a.Hash, a.Validators = r.content, wire.ContentHash(r.content), t.Validate
		out = append(out, a)
	}
	return out
}

// gone deletes what id's stored read set says it deployed, for an
// artifact whose template is gone, and deletes the record: only the
// render that deletes the record deletes the path, so a record the index
// still holds but another render already deleted deploys nothing.
func (e *Engine) gone(ctx context.Context, ch wire.Change, id ArtifactID) ([]wire.Artifact, error) {
	x := e.index
	x.mu.RLock()
	_, had := x.reads[id.key()]
	rev := x.rev
	x.mu.RUnlock()
	if !had {
		return nil, nil
	}
	st, err := storeReadSet(ctx, e.cfg.Model.kv, id, nil, rev, e.seenReadSet(id))
	if err != nil || st.replaced == nil || st.replaced.Path == "" {
		return nil, err
	}
	return []wire.Artifact{deleteArtifact(ch, id, st.replaced.Path, rev)}, nil
}

// timedRenderAt is renderAt timed from within the goroutine that renders
// (so that the time is the render's, not the wait for its result): with a
// recorder rec, also its CPU time, on its OS thread (cost.OnThread). The
// time is the template's share of the event's cost.
func (e *Engine) timedRenderAt(ctx context.Context, rec *cost.Recorder, t *Template, id ArtifactID) (rendering, error) {
	start := time.Now()
	if rec == nil {
		r, err := e.renderAt(ctx, t, id)
		r.took = time.Since(start)
		return r, err
	}
	var r rendering
	var err error
	cpu, _ := cost.OnThread(func() { r, err = e.renderAt(ctx, t, id) })
	r.took, r.cpu = time.Since(start), cpu
	return r, err
}

// renderAt renders t for id from the model at the index's current
// revision (what the render starts from is read under the index's lock:
// the revision, the template set in use at it, the stored read set and
// the node; the render's own lookups lock for themselves).
func (e *Engine) renderAt(ctx context.Context, t *Template, id ArtifactID) (rendering, error) {
	x := e.index
	x.mu.RLock()
	if now, ok := e.templates.Load().Get(t.Name); ok {
		t = now // the set in use at this revision (reloads happen under the lock)
	}
	r := rendering{rev: x.rev, tmpl: t}
	old, had := x.reads[id.key()]
	n := x.nodes[id.Node]
	x.mu.RUnlock()
	r.old, r.had = old.ReadSet, had
	q := newQuery(ctx, x)
	d := RenderData{Template: t.Name, Model: ModelView{q: q}}
	if id.Node != "" {
		q.deps[depNode(id.Node)] = struct{}{}
		if !visible(n) {
			r.deps = sortedDeps(q.deps)
			return r, nil
		}
		d.Node = n.View()
		d.Node.q = q
	}
	p, err := e.outputPath(ctx, t, id, d)
	if err != nil || p == "" {
		r.deps = sortedDeps(q.deps)
		return r, err
	}
	content, err := t.Render(ctx, d)
	if err != nil {
		return r, renderErr(ctx, t, id, err)
	}
	r.path, r.content, r.deps = p, content, sortedDeps(q.deps)
	return r, nil
}

// outputPath renders and cleans t's output path for d ("" = no artifact).
func (e *Engine) outputPath(ctx context.Context, t *Template, id ArtifactID, d RenderData) (string, error) {
	raw, err := t.OutputPath(ctx, d)
	if err != nil {
		return "", renderErr(ctx, t, id, err)
	}
	if raw == "" {
		return "", nil
	}
	p, err := wire.CleanPath(raw)
	if err != nil {
		return "", fmt.Errorf("render %s: %w: %w", id, wire.ErrPermanent, err)
	}
	return p, nil
}

// record stores r's read set when it differs from the stored one (or
// deletes a record no longer needed), and reports whether the model
// changed, under a new record, in what r read: the render must then be
// done again, as the change's replica may have looked for readers before
// the record existed.
func (e *Engine) record(ctx context.Context, id ArtifactID, r rendering, modelScoped bool) (stored, bool, error) {
	rs := ReadSet{ArtifactID: id, Path: r.path, Deps: r.deps, Revision: r.rev}
	need := modelScoped || r.path != "" || len(r.deps) > 1
	var st stored
	var err error
	switch {
	case need && r.had && r.old.same(rs):
		return st, false, nil
	case need:
		st, err = storeReadSet(ctx, e.cfg.Model.kv, id, &rs, r.rev, e.seenReadSet(id))
	case r.had:
		st, err = storeReadSet(ctx, e.cfg.Model.kv, id, nil, r.rev, e.seenReadSet(id))
	}
	if err != nil || st.w == 0 {
		return st, false, err
	}
	if err := e.index.Wait(ctx, st.w); err != nil {
		return st, false, err
	}
	e.index.mu.RLock()
	defer e.index.mu.RUnlock()
	return st, e.index.touchedSince(r.rev, r.deps), nil
}

// seenReadSet is id's stored read set as the index holds it now.
func (e *Engine) seenReadSet(id ArtifactID) *seen {
	rs, kvRev, _ := e.index.readSet(id)
	return &seen{rs: rs, kvRev: kvRev}
}

// stale renders the one artifact a group of artifact_stale events names,
// unless this replica rendered it from a model at least as new already.
func (e *Engine) stale(ctx context.Context, chs []wire.Change) ([]wire.Artifact, error) {
	id := staleID(chs[0].Event)
	var rev uint64
	for _, ch := range chs {
		r, err := strconv.ParseUint(ch.Event.Metadata[MetaRevision], 10, 64)
		if err != nil && ch.Event.Metadata[MetaRevision] != "" {
			return nil, wire.PermanentReason(wire.ReasonPermanent, fmt.Errorf("artifact_stale %s: metadata %s: %w", id, MetaRevision, err))
		}
		rev = max(rev, r)
	}
	if id.Template == "" {
		return nil, wire.PermanentReason(wire.ReasonPermanent, errors.New("artifact_stale: metadata template is empty"))
	}
	if err := e.index.Wait(ctx, rev); err != nil {
		return nil, err
	}
	if last, ok := e.rendered.Load(id.key()); ok && last.(uint64) >= rev && rev > 0 {
		return nil, nil
	}
	start := time.Now()
	ctx, span := tracing.StartStage(ctx, tracing.StageRender)
	arts, err := e.renderOne(ctx, chs[0], id)
	endRender(ctx, span, start, arts, err)
	return arts, err
}

// endStage ends a stage begun at start: its time is added to stage s of
// ctx's cost.Recorder and span ends with err.
func endStage(ctx context.Context, span trace.Span, s cost.Stage, start time.Time, err error) {
	cost.From(ctx).AddStage(s, time.Since(start))
	tracing.End(span, err)
}

// endRender is endStage for the render stage, whose span also counts the
// artifacts rendered.
func endRender(ctx context.Context, span trace.Span, start time.Time, arts []wire.Artifact, err error) {
	if span.IsRecording() {
		span.SetAttributes(tracing.ArtifactsKey.Int(len(arts)))
	}
	endStage(ctx, span, cost.Render, start, err)
}

// staleID is the artifact an artifact_stale event names: Subject is the
// node, or the template itself for a model-scoped one.
func staleID(ev wire.ChangeEvent) ArtifactID {
	t := ev.Metadata[wire.MetaTemplate]
	if ev.Metadata[metaScope] == ScopeModel {
		return ArtifactID{Template: t}
	}
	return ArtifactID{Template: t, Node: ev.Subject}
}

// renderErr marks template failures permanent, but not ctx's end.
func renderErr(ctx context.Context, t *Template, id ArtifactID, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("render %s: %w", id, err)
	}
	if errors.Is(err, ErrTooMuchWork) {
		return wire.PermanentReason(wire.ReasonRenderTooCostly, fmt.Errorf("render %s (%s): %w", id, t.File, err))
	}
	return wire.PermanentReason(wire.ReasonTemplateError, fmt.Errorf("render %s (%s): %w", id, t.File, err))
}

func newArtifact(ch wire.Change, id ArtifactID, p string, rev uint64) wire.Artifact {
	return wire.Artifact{Path: p, Template: id.Template, Node: id.Node, Revision: rev,
		EventID: ch.Event.ID, ExecutionID: ch.ExecutionID}
}

func deleteArtifact(ch wire.Change, id ArtifactID, p string, rev uint64) wire.Artifact {
	a := newArtifact(ch, id, p, rev)
	a.Delete, a.Hash = true, wire.ContentHash(nil)
	return a
}
