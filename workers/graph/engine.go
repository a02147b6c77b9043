package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/tracing"
)

// InlineMaxDefault is how many derived re-renders (artifacts of other
// nodes that read what a change touched) one change renders itself when
// Config.Stale is set; the rest are published as artifact_stale events for
// every replica to share. None by default: published, the re-renders of
// every change of a batch that touch one artifact meet in the next batch
// and render it once.
const InlineMaxDefault = 0

// Config configures an Engine.
type Config struct {
	// Templates is the directory of *.tmpl files. Required.
	Templates string
	// Model holds the source model (NewModel over wire.ModelBucket). Required.
	Model *Model
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// MaxAbandoned is how many abandoned renders may still run before
	// Stuck reports the engine stuck (MaxAbandonedDefault).
	MaxAbandoned int
	// Stale publishes the derived re-renders a change does not render
	// itself; nil renders them all in place.
	Stale StalePublisher
	// InlineMax is how many derived re-renders a change renders itself
	// when Stale is set (InlineMaxDefault; negative is taken as 0).
	InlineMax int
}

// StalePublisher hands re-renders to the whole deployment: each task
// becomes one artifact_stale event on the changes stream, which any
// replica may take (and which a replica's death does not lose).
type StalePublisher interface {
	PublishStale(ctx context.Context, cause wire.Change, tasks []StaleTask) error
}

// StaleTask asks for one artifact to be rendered from a model at least
// as new as Revision.
type StaleTask struct {
	ID       ArtifactID
	Revision uint64
}

// Engine applies changes to the model and renders the artifacts they
// affect: the changed node's own artifacts, and every artifact whose
// recorded read set holds a key the change touched. It is safe for any
// number of goroutines at once: the template set is swapped atomically
// on template_changed. Close stops its model index.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	index     *Index
	templates atomic.Pointer[TemplateSet]
	abandoned atomic.Int64 // renders abandoned at their deadline, still running
	rendered  sync.Map     // ArtifactID.key → uint64 revision last rendered here
	renders   atomic.Int64 // artifact renders done
}

// Renders is how many artifact renders the engine has done (an artifact
// whose output path is empty counts: its template ran).
func (e *Engine) Renders() int64 { return e.renders.Load() }

// NewEngine loads the templates and the model index (following the model
// bucket until Close).
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Templates == "" {
		errs = append(errs, errors.New("graph engine: field Templates is empty"))
	}
	if cfg.Model == nil {
		errs = append(errs, errors.New("graph engine: field Model is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	set, err := LoadTemplates(cfg.Templates)
	if err != nil {
		return nil, fmt.Errorf("graph engine: %w", err)
	}
	e := &Engine{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default())}
	e.cfg.InlineMax = max(e.cfg.InlineMax, InlineMaxDefault)
	e.templates.Store(set)
	if e.index, err = OpenIndex(ctx, cfg.Model.kv, e.log); err != nil {
		return nil, fmt.Errorf("graph engine: %w", err)
	}
	e.index.mu.Lock()
	e.index.onTemplates = e.reloadAnnounced
	e.index.mu.Unlock()
	return e, nil
}

// Close stops following the model.
func (e *Engine) Close() { e.index.Close() }

// Index is the engine's in-memory copy of the model.
func (e *Engine) Index() *Index { return e.index }

// Templates returns the template set in use.
func (e *Engine) Templates() *TemplateSet { return e.templates.Load() }

// Reload reloads the templates directory and swaps the set in; on error the
// old set stays in use.
func (e *Engine) Reload() (*TemplateSet, error) {
	set, err := LoadTemplates(e.cfg.Templates)
	if err != nil {
		return nil, err
	}
	e.templates.Store(set)
	return set, nil
}

// GroupKey groups the events of one batch that the engine handles
// together: the changes to one node, and the requests to re-render one
// artifact.
func (e *Engine) GroupKey(ev wire.ChangeEvent) string {
	switch {
	case ev.ChangeType == wire.ArtifactStale:
		return "stale\x00" + staleID(ev).key()
	case ev.ChangeType == wire.SchemaChanged || ev.ChangeType == wire.TemplateChanged:
		return ""
	}
	return "node\x00" + ev.Subject
}

// Regenerate applies ch to the model and returns the artifacts to deploy,
// sorted by node, then template:
//
//   - a node or edge change renders the node's own artifacts (every
//     node-scoped template whose subject globs match it) and every
//     artifact whose read set holds a key the change touched;
//   - template_changed (Subject = template name) reloads the directory and
//     renders every artifact of that template and its dependents;
//   - schema_changed renders every artifact;
//   - artifact_stale renders the one artifact it names.
//
// An artifact whose path moved or that no longer applies (its node was
// removed, its output path is now empty) comes back as a Delete at the
// old path.
func (e *Engine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	switch ch.Event.ChangeType {
	case wire.TemplateChanged:
		return e.templateChanged(ctx, ch)
	case wire.SchemaChanged:
		return e.renderTemplates(ctx, ch, e.templates.Load().Templates())
	}
	arts, errs, err := e.RegenerateGroup(ctx, []wire.Change{ch})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return nil, err
	}
	return arts, nil
}

// RegenerateGroup handles changes that share a GroupKey at once: the
// changes to one node are applied in one write and the node rendered
// once; requests to re-render one artifact render it once. errs[i] is
// chs[i]'s own failure; err fails them all.
func (e *Engine) RegenerateGroup(ctx context.Context, chs []wire.Change) ([]wire.Artifact, []error, error) {
	if len(chs) == 0 {
		return nil, nil, nil
	}
	if chs[0].Event.ChangeType == wire.ArtifactStale {
		arts, err := e.stale(ctx, chs)
		return arts, make([]error, len(chs)), err
	}
	errs := make([]error, len(chs))
	if len(chs) == 1 && (chs[0].Event.ChangeType == wire.SchemaChanged || chs[0].Event.ChangeType == wire.TemplateChanged) {
		arts, err := e.Regenerate(ctx, chs[0])
		return arts, errs, err
	}
	res, err := e.write(ctx, chs, errs)
	if err != nil {
		return nil, errs, err
	}
	own, derived := e.affected(res, redelivered(chs))
	arts, err := e.renderIDs(ctx, chs[0], own, derived)
	return arts, errs, err
}

// write applies chs, changes to one node, in one write and waits for the
// index to hold it: the model stage of the changes' cost, and the model
// span of a traced event.
func (e *Engine) write(ctx context.Context, chs []wire.Change, errs []error) (res applied, err error) {
	start := time.Now()
	_, span := tracing.StartStage(ctx, tracing.StageModel)
	defer func() { endStage(ctx, span, cost.Model, start, err) }()
	if res, err = e.cfg.Model.applyGroup(ctx, chs, errs, e.index.node); err != nil {
		return res, err
	}
	return res, e.index.Wait(ctx, res.rev)
}

// redelivered reports whether one of chs was delivered before: a change
// that then writes nothing may be one whose earlier delivery wrote the
// model and ended before rendering what it touched.
func redelivered(chs []wire.Change) bool {
	return slices.ContainsFunc(chs, func(ch wire.Change) bool { return ch.Deliveries > 1 })
}

// affected returns the artifacts a write to one node affects: the node's
// own (even when it is now removed, to delete them) and the readers of
// the keys it touched, and the model-scoped artifacts never rendered.
// A first delivery that wrote nothing touched nothing: newer changes hold
// every register it addressed, and their own deliveries see to what they
// touched.
func (e *Engine) affected(res applied, redelivered bool) (own, derived []ArtifactID) {
	x := e.index
	x.mu.RLock()
	defer x.mu.RUnlock()
	keys, ok := x.touchedBy(res.rev)
	switch {
	case res.wrote && ok:
	case !res.wrote && !redelivered:
		keys = nil
	case x.nodes[res.subject] != nil:
		keys = everyKey(x.nodes[res.subject])
	default:
		keys = map[string]struct{}{depNode(res.subject): {}}
	}
	set := e.templates.Load()
	seen := map[string]bool{}
	for _, t := range set.Templates() {
		if t.Scope == ScopeNode && t.MatchesSubject(res.subject) {
			id := ArtifactID{Template: t.Name, Node: res.subject}
			own = append(own, id)
			seen[id.key()] = true
		}
		if t.Scope == ScopeModel {
			if _, ok := x.reads[ArtifactID{Template: t.Name}.key()]; !ok {
				derived = append(derived, ArtifactID{Template: t.Name}) // never rendered yet
				seen[ArtifactID{Template: t.Name}.key()] = true
			}
		}
	}
	for k := range x.readersOf(keys) {
		if !seen[k] {
			derived = append(derived, parseArtifactKey(k))
		}
	}
	sortIDs(derived)
	return own, derived
}

func sortIDs(ids []ArtifactID) {
	slices.SortFunc(ids, func(a, b ArtifactID) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Template, b.Template))
	})
}

func (e *Engine) templateChanged(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	name := ch.Event.Subject
	set, err := e.Reload()
	if err != nil {
		return nil, fmt.Errorf("template_changed %s: reload: %w: %w", name, wire.ErrPermanent, err)
	}
	if _, ok := set.Get(name); !ok {
		return nil, fmt.Errorf("template_changed %s: %w: no such template", name, wire.ErrPermanent)
	}
	if err := e.announceTemplates(ctx, ch); err != nil {
		return nil, err
	}
	e.log.InfoContext(ctx, "templates reloaded", slog.String("template", name),
		slog.String("event_id", ch.Event.ID), slog.String("execution_id", ch.ExecutionID),
		slog.Int("templates", len(set.sorted)))
	return e.renderTemplates(ctx, ch, e.templates.Load().WithDependents(name))
}

// announceTemplates writes TemplatesKey, so every replica reloads its
// templates, and waits until this one's index is past the write: every
// render from then on, on any replica, reads the new templates.
func (e *Engine) announceTemplates(ctx context.Context, ch wire.Change) error {
	data, err := json.Marshal(map[string]string{"event_id": ch.Event.ID, "template": ch.Event.Subject})
	if err != nil {
		return err
	}
	cost.From(ctx).KVOps(1)
	w, err := e.cfg.Model.kv.Put(ctx, TemplatesKey, data)
	if err != nil {
		return fmt.Errorf("template_changed %s: announce: %w", ch.Event.Subject, err)
	}
	return e.index.Wait(ctx, w)
}

// reloadAnnounced reloads the templates when some replica announced a
// template change (called by the index, under its lock, so no render
// reads the model past the announcement with the old templates).
func (e *Engine) reloadAnnounced() {
	if _, err := e.Reload(); err != nil {
		e.log.Error("templates changed on another replica; reloading here failed, the old templates stay in use",
			slog.Any("error", err))
	}
}

// renderTemplates renders every artifact of ts: one per live node whose
// subject the globs match for a node-scoped template (and a delete for
// each it rendered before that no longer applies), one for a
// model-scoped one.
func (e *Engine) renderTemplates(ctx context.Context, ch wire.Change, ts []*Template) ([]wire.Artifact, error) {
	return e.renderIDs(ctx, ch, nil, e.artifactsOf(ts))
}

// artifactsOf lists the artifacts of ts in the current model, and those
// a read set says were rendered before.
func (e *Engine) artifactsOf(ts []*Template) []ArtifactID {
	x := e.index
	x.mu.RLock()
	defer x.mu.RUnlock()
	seen := map[string]bool{}
	var ids []ArtifactID
	add := func(id ArtifactID) {
		if !seen[id.key()] {
			seen[id.key()] = true
			ids = append(ids, id)
		}
	}
	names := map[string]bool{}
	for _, t := range ts {
		names[t.Name] = true
		if t.Scope == ScopeModel {
			add(ArtifactID{Template: t.Name})
			continue
		}
		for s, n := range x.nodes {
			if visible(n) && t.MatchesSubject(s) {
				add(ArtifactID{Template: t.Name, Node: s})
			}
		}
	}
	for _, rs := range x.reads {
		if names[rs.Template] {
			add(rs.ArtifactID)
		}
	}
	sortIDs(ids)
	return ids
}

func sortArtifacts(as []wire.Artifact) {
	slices.SortStableFunc(as, func(a, b wire.Artifact) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Template, b.Template),
			strings.Compare(a.Path, b.Path))
	})
}
