package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/regen-dev/regen/bus/wire"
)

// MaxRenderSize bounds one rendered artifact (and output path).
const MaxRenderSize = 16 << 20

// RenderData is what a template body and its output path see: .Node (the
// node of a node-scoped template; empty for a model-scoped one), .Model
// (queries over the whole model) and .Template (the template's name). It
// holds nothing but model state, so the same state always renders the
// same bytes.
type RenderData struct {
	Node     NodeView
	Model    ModelView
	Template string
	// Budget is what is left of this execution's range iterations (set by
	// the engine; nil is unlimited).
	Budget *WorkBudget
}

// Template is one parsed *.tmpl file. It is immutable and safe for
// concurrent use.
type Template struct {
	FrontMatter
	// File is the file name the template was loaded from.
	File   string
	body   *template.Template
	output *template.Template
}

// ParseTemplate parses one template file's content; file names it in errors.
func ParseTemplate(file string, data []byte) (*Template, error) {
	fm, body, err := ParseFrontMatter(data)
	if err != nil {
		return nil, withFile(err, file)
	}
	t := &Template{FrontMatter: fm, File: file}
	t.output, err = newTemplate(fm.Name + ":output").Parse(fm.Output)
	if err != nil {
		return nil, &TemplateError{File: file, Field: "output", Err: err}
	}
	guardRanges(t.output)
	t.body, err = newTemplate(fm.Name).Parse(string(body))
	if err != nil {
		return nil, &TemplateError{File: file, Field: "body", Err: err}
	}
	guardRanges(t.body)
	return t, nil
}

// newTemplate is an empty template with the helpers, where a missing map
// key (.Node.Props.nope) fails the render instead of printing
// "<no value>": index, .Node.Prop and .Node.Text read optional keys.
func newTemplate(name string) *template.Template {
	return template.New(name).Funcs(TemplateFuncs()).Option("missingkey=error")
}

// withFile sets File on every *TemplateError in err (joined or not).
func withFile(err error, file string) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			_ = withFile(e, file)
		}
		return err
	}
	var te *TemplateError
	if errors.As(err, &te) {
		te.File = file
		return err
	}
	return &TemplateError{File: file, Err: err}
}

// MatchesSubject reports whether one of the subject globs matches subject.
func (t *Template) MatchesSubject(subject string) bool {
	return slices.ContainsFunc(t.Match.Subjects, func(p string) bool { return Glob(p, subject) })
}

// Matches reports whether the template reacts to ev: its change type, its
// subject and, for edge events, its predicate.
func (t *Template) Matches(ev wire.ChangeEvent) bool {
	if !slices.Contains(t.Match.ChangeTypes, ev.ChangeType) || !t.MatchesSubject(ev.Subject) {
		return false
	}
	if !ev.ChangeType.IsEdge() || len(t.Match.Predicates) == 0 {
		return true
	}
	return ev.Predicate != nil && slices.Contains(t.Match.Predicates, *ev.Predicate)
}

// OutputPath renders the output path for d, trimmed of surrounding space; ""
// means the template does not apply to this node. The path is not yet
// checked: pass it to CleanPath.
func (t *Template) OutputPath(ctx context.Context, d RenderData) (string, error) {
	b, err := execute(ctx, t.output, d)
	if err != nil {
		return "", fmt.Errorf("output path: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Render executes the body for d. An error that is not ctx's is the
// template's own fault (a permanent failure for this node).
func (t *Template) Render(ctx context.Context, d RenderData) ([]byte, error) {
	return execute(ctx, t.body, d)
}

func execute(ctx context.Context, tt *template.Template, d RenderData) ([]byte, error) {
	d.Budget = newWorkBudget()
	var buf bytes.Buffer
	err := tt.Execute(&ctxWriter{ctx: ctx, w: &buf, left: MaxRenderSize}, d)
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ctxWriter stops a template execution when ctx ends or the output grows
// past its limit. Templates are trusted code: this bounds time only as far
// as the template keeps writing.
type ctxWriter struct {
	ctx  context.Context
	w    io.Writer
	left int
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > c.left {
		return 0, fmt.Errorf("rendered output exceeds %d bytes", MaxRenderSize)
	}
	c.left -= len(p)
	return c.w.Write(p)
}

// Glob reports whether subject matches pattern, where '*' matches any run
// of characters ('/' included) and every other character only itself.
func Glob(pattern, subject string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(subject) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(pattern) && pattern[px] == subject[sx]:
			px++
			sx++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// readTemplateFile reads one file, refusing oversize ones.
func readTemplateFile(dir, name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTemplateFile+1))
	if err == nil && len(data) > maxTemplateFile {
		err = fmt.Errorf("larger than %d bytes", maxTemplateFile)
	}
	return data, err
}
