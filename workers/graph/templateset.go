package graph

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// TemplateSet is an immutable set of templates with their dependency graph,
// safe for concurrent use.
type TemplateSet struct {
	byName     map[string]*Template
	sorted     []*Template
	dependents map[string][]string
}

// LoadTemplates loads every *.tmpl file of dir. It refuses the whole set if
// any file is invalid, two share a name, or depends_on names a missing
// template or forms a cycle; every error names the file and the field.
func LoadTemplates(dir string) (*TemplateSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load templates %s: %w", dir, err)
	}
	s := &TemplateSet{byName: map[string]*Template{}, dependents: map[string][]string{}}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
			continue
		}
		errs = append(errs, s.loadFile(dir, e.Name()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("load templates %s: %w", dir, err)
	}
	if err := s.link(); err != nil {
		return nil, fmt.Errorf("load templates %s: %w", dir, err)
	}
	return s, nil
}

func (s *TemplateSet) loadFile(dir, name string) error {
	data, err := readTemplateFile(dir, name)
	if err != nil {
		return &TemplateError{File: name, Err: err}
	}
	t, err := ParseTemplate(name, data)
	if err != nil {
		return err
	}
	if other, dup := s.byName[t.Name]; dup {
		return &TemplateError{File: name, Field: "name",
			Err: fmt.Errorf("%q is also the name of %s", t.Name, other.File)}
	}
	s.byName[t.Name] = t
	s.sorted = append(s.sorted, t)
	return nil
}

// link checks depends_on and builds the reverse (dependents) graph.
func (s *TemplateSet) link() error {
	slices.SortFunc(s.sorted, func(a, b *Template) int { return strings.Compare(a.Name, b.Name) })
	var errs []error
	for _, t := range s.sorted {
		for _, d := range t.DependsOn {
			if _, ok := s.byName[d]; !ok {
				errs = append(errs, &TemplateError{File: t.File, Field: "depends_on",
					Err: fmt.Errorf("no template named %q", d)})
				continue
			}
			s.dependents[d] = append(s.dependents[d], t.Name)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return s.checkCycles()
}

func (s *TemplateSet) checkCycles() error {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(t *Template, trail []string) error
	visit = func(t *Template, trail []string) error {
		switch state[t.Name] {
		case visiting:
			return &TemplateError{File: t.File, Field: "depends_on",
				Err: fmt.Errorf("dependency cycle %s", strings.Join(append(trail, t.Name), " -> "))}
		case done:
			return nil
		}
		state[t.Name] = visiting
		for _, d := range t.DependsOn {
			if err := visit(s.byName[d], append(trail, t.Name)); err != nil {
				return err
			}
		}
		state[t.Name] = done
		return nil
	}
	for _, t := range s.sorted {
		if err := visit(t, nil); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the template called name.
func (s *TemplateSet) Get(name string) (*Template, bool) {
	t, ok := s.byName[name]
	return t, ok
}

// Templates returns every template, sorted by name.
func (s *TemplateSet) Templates() []*Template { return slices.Clone(s.sorted) }

// WithDependents returns the named templates and, transitively, every
// template that depends on one of them, sorted by name.
func (s *TemplateSet) WithDependents(names ...string) []*Template {
	seen := map[string]bool{}
	for len(names) > 0 {
		n := names[len(names)-1]
		names = names[:len(names)-1]
		if seen[n] || s.byName[n] == nil {
			continue
		}
		seen[n] = true
		names = append(names, s.dependents[n]...)
	}
	var out []*Template
	for _, t := range s.sorted {
		if seen[t.Name] {
			out = append(out, t)
		}
	}
	return out
}
