package graph

import (
	"fmt"
	"slices"
	"strings"
)

// maxMatchRows bounds the rows of one Match: a pattern that joins badly
// fails the render instead of eating the replica's memory.
const maxMatchRows = 100_000

// Row is one solution of a Match: a value for each variable, keyed by its
// name without the '?'.
type Row map[string]string

type term struct {
	v string // variable name ("" for a constant)
	c string // constant
}

type triple struct{ s, p, o term }

// Match solves a basic graph pattern over the live edges: each argument is
// one triple pattern "S P O" (terms separated by spaces, a term starting
// with '?' is a variable, the predicate must be a constant), all of which
// a row must satisfy. Rows are sorted by the values of the variables, in
// the order the variables first appear.
//
//	{{ range .Model.Match "?p rdfs:domain ?class" "?p rdfs:range ?range" }}
//	  {{ .p }}: {{ .class }} -> {{ .range }}
//	{{ end }}
func (m ModelView) Match(patterns ...string) ([]Row, error) {
	ts, vars, err := parsePatterns(patterns)
	if err != nil {
		return nil, err
	}
	rows := []Row{{}}
	for _, t := range ts {
		if rows, err = m.extend(rows, t); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(rows, func(a, b Row) int {
		for _, v := range vars {
			if c := strings.Compare(a[v], b[v]); c != 0 {
				return c
			}
		}
		return 0
	})
	return rows, nil
}

func parsePatterns(patterns []string) ([]triple, []string, error) {
	if len(patterns) == 0 {
		return nil, nil, fmt.Errorf("match: no pattern")
	}
	var ts []triple
	var vars []string
	for _, p := range patterns {
		f := strings.Fields(p)
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("match: pattern %q: want \"subject predicate object\"", p)
		}
		t := triple{s: parseTerm(f[0]), p: parseTerm(f[1]), o: parseTerm(f[2])}
		if t.p.v != "" {
			return nil, nil, fmt.Errorf("match: pattern %q: the predicate must not be a variable", p)
		}
		for _, x := range []term{t.s, t.o} {
			if x.v != "" && !slices.Contains(vars, x.v) {
				vars = append(vars, x.v)
			}
		}
		ts = append(ts, t)
	}
	return ts, vars, nil
}

func parseTerm(s string) term {
	if v, ok := strings.CutPrefix(s, "?"); ok && v != "" {
		return term{v: v}
	}
	return term{c: s}
}

// bound returns the value of x in r, if it has one.
func bound(r Row, x term) (string, bool) {
	if x.v == "" {
		return x.c, true
	}
	v, ok := r[x.v]
	return v, ok
}

// extend joins rows with the solutions of t.
func (m ModelView) extend(rows []Row, t triple) ([]Row, error) {
	var out []Row
	for _, r := range rows {
		pairs, err := m.solve(r, t)
		if err != nil {
			return nil, err
		}
		for _, so := range pairs {
			if nr, ok := bind(r, t, so); ok {
				out = append(out, nr)
			}
		}
		if len(out) > maxMatchRows {
			return nil, fmt.Errorf("match: more than %d rows", maxMatchRows)
		}
	}
	return out, nil
}

// solve returns the [subject, object] pairs of live edges matching t
// under r, reading as little of the model as the bound terms allow.
func (m ModelView) solve(r Row, t triple) ([][2]string, error) {
	s, sok := bound(r, t.s)
	o, ook := bound(r, t.o)
	switch {
	case sok:
		objs, err := m.q.objects(s, t.p.c)
		if err != nil {
			return nil, err
		}
		var out [][2]string
		for _, x := range objs {
			if !ook || x == o {
				out = append(out, [2]string{s, x})
			}
		}
		return out, nil
	case ook:
		subs, err := m.q.subjects(t.p.c, o)
		if err != nil {
			return nil, err
		}
		out := make([][2]string, len(subs))
		for i, x := range subs {
			out[i] = [2]string{x, o}
		}
		return out, nil
	}
	return m.q.pairs(t.p.c)
}

// bind extends r with t's variables set to so; ok is false when a
// variable used twice in t would take two values.
func bind(r Row, t triple, so [2]string) (Row, bool) {
	nr := make(Row, len(r)+2)
	for k, v := range r {
		nr[k] = v
	}
	for i, x := range []term{t.s, t.o} {
		if x.v == "" {
			continue
		}
		if v, ok := nr[x.v]; ok && v != so[i] {
			return nil, false
		}
		nr[x.v] = so[i]
	}
	return nr, true
}
