package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/regen-dev/regen/bus/wire"
)

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
}

// Engine applies changes to the model and renders the templates they
// affect. Regenerate is safe for any number of goroutines at once: the
// template set is swapped atomically on template_changed.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	templates atomic.Pointer[TemplateSet]
	abandoned atomic.Int64 // renders abandoned at their deadline, still running
}

// NewEngine loads the templates and returns the engine.
func NewEngine(cfg Config) (*Engine, error) {
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
	e := &Engine{cfg: cfg, log: cfg.Logger}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.templates.Store(set)
	return e, nil
}

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

// Regenerate applies ch to the model and returns the artifacts it affects,
// in a deterministic order (by node, then template name):
//
//   - node and edge changes render, for the change's subject, every template
//     whose match covers the change, plus their transitive dependents whose
//     subject globs match the node;
//   - template_changed (Subject = template name) reloads the directory and
//     renders that template and its dependents for every matching node;
//   - schema_changed renders every template for every node;
//   - a removed node yields Delete artifacts for the templates whose subject
//     globs match it, at the paths computed from its last state.
//
// Nodes only seen through edges are rendered; nodes removed are not.
func (e *Engine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	switch ch.Event.ChangeType {
	case wire.TemplateChanged:
		return e.templateChanged(ctx, ch)
	case wire.SchemaChanged:
		set := e.templates.Load()
		return e.renderAll(ctx, ch, set.Templates())
	}
	n, rev, _, err := e.cfg.Model.apply(ctx, ch)
	if err != nil {
		return nil, err
	}
	set := e.templates.Load()
	if n.Removed() {
		return e.deletes(ctx, ch, set, n, rev)
	}
	var names []string
	for _, t := range set.Templates() {
		if t.Matches(ch.Event) {
			names = append(names, t.Name)
		}
	}
	return e.renderNode(ctx, ch, set.WithDependents(names...), n, rev)
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
	e.log.InfoContext(ctx, "templates reloaded", slog.String("template", name),
		slog.String("event_id", ch.Event.ID), slog.String("execution_id", ch.ExecutionID),
		slog.Int("templates", len(set.sorted)))
	return e.renderAll(ctx, ch, set.WithDependents(name))
}

// renderAll renders ts for every node of the model that is not removed.
func (e *Engine) renderAll(ctx context.Context, ch wire.Change, ts []*Template) ([]wire.Artifact, error) {
	var out []wire.Artifact
	for nr, err := range e.cfg.Model.All(ctx) {
		if err != nil {
			return nil, err
		}
		if nr.Node.Removed() {
			continue
		}
		arts, err := e.renderNode(ctx, ch, ts, nr.Node, nr.Revision)
		if err != nil {
			return nil, err
		}
		out = append(out, arts...)
	}
	sortArtifacts(out)
	return out, nil
}

// renderNode renders each of ts whose subject globs match n.
func (e *Engine) renderNode(ctx context.Context, ch wire.Change, ts []*Template, n Node, rev uint64) ([]wire.Artifact, error) {
	data := RenderData{Node: n.View()}
	var out []wire.Artifact
	for _, t := range ts {
		if !t.MatchesSubject(n.Subject) {
			continue
		}
		data.Template = t.Name
		a, ok, err := e.render(ctx, ch, t, data, rev)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// render produces one artifact; ok is false when the output path is empty.
func (e *Engine) render(ctx context.Context, ch wire.Change, t *Template, d RenderData, rev uint64) (wire.Artifact, bool, error) {
	p, err := e.artifactPath(ctx, t, d)
	if err != nil || p == "" {
		return wire.Artifact{}, false, err
	}
	content, err := e.bounded(ctx, "render "+t.Name+" for "+d.Node.Subject,
		func() ([]byte, error) { return t.Render(ctx, d) })
	if wire.IsPermanent(err) {
		return wire.Artifact{}, false, err
	}
	if err != nil {
		return wire.Artifact{}, false, renderErr(ctx, t, d.Node.Subject, err)
	}
	a := newArtifact(ch, t, d.Node.Subject, p, rev)
	a.Content, a.Hash = content, wire.ContentHash(content)
	return a, true, nil
}

// artifactPath renders and cleans t's output path for d ("" = not applicable).
func (e *Engine) artifactPath(ctx context.Context, t *Template, d RenderData) (string, error) {
	out, err := e.bounded(ctx, "output path of "+t.Name+" for "+d.Node.Subject, func() ([]byte, error) {
		p, err := t.OutputPath(ctx, d)
		return []byte(p), err
	})
	if wire.IsPermanent(err) {
		return "", err
	}
	if err != nil {
		return "", renderErr(ctx, t, d.Node.Subject, err)
	}
	raw := string(out)
	if raw == "" {
		return "", nil
	}
	p, err := wire.CleanPath(raw)
	if err != nil {
		return "", fmt.Errorf("render %s for %s: %w: %w", t.Name, d.Node.Subject, wire.ErrPermanent, err)
	}
	return p, nil
}

// renderErr marks template failures permanent, but not ctx's end.
func renderErr(ctx context.Context, t *Template, subject string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("render %s for %s: %w", t.Name, subject, err)
	}
	if errors.Is(err, ErrTooMuchWork) {
		return wire.PermanentReason(wire.ReasonRenderTooCostly, fmt.Errorf("render %s for %s: %w", t.Name, subject, err))
	}
	return wire.PermanentReason(wire.ReasonTemplateError, fmt.Errorf("render %s for %s: %w", t.Name, subject, err))
}

// deletes returns Delete artifacts for a removed node.
func (e *Engine) deletes(ctx context.Context, ch wire.Change, set *TemplateSet, n Node, rev uint64) ([]wire.Artifact, error) {
	data := RenderData{Node: n.View()}
	var out []wire.Artifact
	for _, t := range set.Templates() {
		if !t.MatchesSubject(n.Subject) {
			continue
		}
		data.Template = t.Name
		p, err := e.artifactPath(ctx, t, data)
		if err != nil {
			return nil, err
		}
		if p != "" {
			a := newArtifact(ch, t, n.Subject, p, rev)
			a.Delete, a.Hash = true, wire.ContentHash(nil)
			out = append(out, a)
		}
	}
	return out, nil
}

func newArtifact(ch wire.Change, t *Template, subject, p string, rev uint64) wire.Artifact {
	return wire.Artifact{Path: p, Template: t.Name, Node: subject, Revision: rev,
		EventID: ch.Event.ID, ExecutionID: ch.ExecutionID}
}

func sortArtifacts(as []wire.Artifact) {
	slices.SortStableFunc(as, func(a, b wire.Artifact) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Template, b.Template))
	})
}
