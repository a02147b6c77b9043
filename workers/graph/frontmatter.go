package graph

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/regen-dev/regen/bus/wire"

	"go.yaml.in/yaml/v3"
)

// FrontMatter is the YAML header of a template file, between two "---"
// lines:
//
//	---
//	name: go-struct            # required, unique, [A-Za-z0-9._-]{1,128}
//	description: free text     # optional
//	match:
//	  change_types: [node_added, node_updated]  # default: ChangeTypesDefault
//	  subjects: ["http://xmlns.com/foaf/*"]     # globs, default ["*"]
//	  predicates: ["rdfs:subClassOf"]           # edge events only, default all
//	scope: node                # node (default): one artifact per node; model: one in all
//	output: types/{{ goName .Node.LocalName }}.go  # required, a text/template
//	depends_on: [other-template]                # re-rendered with them on template_changed
//	validate: [go]             # checks the output must pass before it is deployed
//	---
type FrontMatter struct {
	Name        string
	Description string
	Match       Match
	// Scope is ScopeNode (one artifact per node, the default) or
	// ScopeModel (one artifact rendered from queries over the model).
	Scope     string
	Output    string
	DependsOn []string
	// Validate names the validators the rendered content must pass
	// before it is deployed (built in: go, json, yaml; or one configured
	// by name).
	Validate []string
}

// The template scopes.
const (
	// ScopeNode renders one artifact per node the subject globs match.
	ScopeNode = "node"
	// ScopeModel renders one artifact for the whole model; .Node is empty.
	ScopeModel = "model"
)

// Match selects the change events a template reacts to.
type Match struct {
	// ChangeTypes defaults to ChangeTypesDefault.
	ChangeTypes []wire.ChangeType
	// Subjects are globs over the whole subject in which '*' matches any
	// run of characters, '/' included, and every other character matches
	// itself (there is no '?', class or escape). Default ["*"].
	Subjects []string
	// Predicates restricts edge events to these exact predicates; empty
	// means every predicate. Node events ignore it.
	Predicates []string
}

// ChangeTypesDefault is what a template without match.change_types reacts to.
var ChangeTypesDefault = []wire.ChangeType{wire.NodeAdded, wire.NodeUpdated,
	wire.EdgeAdded, wire.EdgeUpdated, wire.EdgeRemoved}

// Limits on template files.
const (
	maxFrontMatter   = 64 << 10
	maxTemplateFile  = 1 << 20
	maxListItems     = 1024
	frontMatterDelim = "---"
)

var templateNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// TemplateError says which template file and which front-matter field is
// wrong. File is empty when the error comes from ParseFrontMatter alone.
type TemplateError struct {
	File  string
	Field string
	Err   error
}

// Error says "template FILE: field FIELD: reason".
func (e *TemplateError) Error() string {
	s := "template"
	if e.File != "" {
		s += " " + e.File
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *TemplateError) Unwrap() error { return e.Err }

func fieldErr(field string, format string, args ...any) error {
	return &TemplateError{Field: field, Err: fmt.Errorf(format, args...)}
}

// ParseFrontMatter splits a template file into its validated front matter
// and its body. It never panics, whatever data holds; errors are
// *TemplateError naming the field.
func ParseFrontMatter(data []byte) (FrontMatter, []byte, error) {
	head, body, err := splitFrontMatter(data)
	if err != nil {
		return FrontMatter{}, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(head, &doc); err != nil {
		return FrontMatter{}, nil, fieldErr("front matter", "bad YAML: %v", err)
	}
	if err := refuseAliases(&doc, 0); err != nil {
		return FrontMatter{}, nil, err
	}
	fm, err := decodeFrontMatter(&doc)
	if err != nil {
		return FrontMatter{}, nil, err
	}
	return fm, body, fm.validate()
}

func splitFrontMatter(data []byte) (head, body []byte, err error) {
	if len(data) > maxTemplateFile {
		return nil, nil, fieldErr("", "file is larger than %d bytes", maxTemplateFile)
	}
	first, rest, ok := cutLine(data)
	if !ok || string(first) != frontMatterDelim {
		return nil, nil, fieldErr("front matter", "file must start with a %q line", frontMatterDelim)
	}
	for off := 0; off <= maxFrontMatter; {
		line, after, ok := cutLine(rest[off:])
		if string(line) == frontMatterDelim {
			return rest[:off], after, nil
		}
		if !ok {
			break
		}
		off = len(rest) - len(after)
	}
	return nil, nil, fieldErr("front matter", "no closing %q line within %d bytes", frontMatterDelim, maxFrontMatter)
}

// cutLine returns the first line of b without its "\n" or "\r\n" and the
// rest; ok is false when b has no newline.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	line, rest, ok = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, ok
}

// refuseAliases rejects YAML aliases and absurd nesting outright: front
// matter never needs them and they are the usual way to blow up a parser.
func refuseAliases(n *yaml.Node, depth int) error {
	if depth > 16 {
		return fieldErr("front matter", "nested too deeply")
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return fieldErr("front matter", "YAML anchors and aliases are not allowed (line %d)", n.Line)
	}
	for _, c := range n.Content {
		if err := refuseAliases(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func decodeFrontMatter(doc *yaml.Node) (FrontMatter, error) {
	var fm FrontMatter
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == 0 || root.Kind == yaml.DocumentNode {
		return fm, fieldErr("name", "front matter is empty")
	}
	return fm, eachField(root, "", func(key string, v *yaml.Node) error {
		switch key {
		case "name":
			return decodeScalar(v, key, &fm.Name)
		case "description":
			return decodeScalar(v, key, &fm.Description)
		case "output":
			return decodeScalar(v, key, &fm.Output)
		case "scope":
			return decodeScalar(v, key, &fm.Scope)
		case "validate":
			return decodeList(v, key, &fm.Validate)
		case "depends_on":
			return decodeList(v, key, &fm.DependsOn)
		case "match":
			return decodeMatch(v, &fm.Match)
		}
		return fieldErr(key, "unknown field")
	})
}

func decodeMatch(n *yaml.Node, m *Match) error {
	return eachField(n, "match.", func(key string, v *yaml.Node) error {
		var err error
		switch key {
		case "match.change_types":
			var types []string
			err = decodeList(v, key, &types)
			for _, t := range types {
				m.ChangeTypes = append(m.ChangeTypes, wire.ChangeType(t))
			}
		case "match.subjects":
			err = decodeList(v, key, &m.Subjects)
		case "match.predicates":
			err = decodeList(v, key, &m.Predicates)
		default:
			err = fieldErr(key, "unknown field")
		}
		return err
	})
}

// eachField calls fn for every key of mapping n (prefixed), refusing
// duplicate and non-string keys.
func eachField(n *yaml.Node, prefix string, fn func(key string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return fieldErr(cmp.Or(strings.TrimSuffix(prefix, "."), "front matter"), "must be a mapping (line %d)", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return fieldErr(prefix+"?", "keys must be strings (line %d)", k.Line)
		}
		key := prefix + k.Value
		if seen[key] {
			return fieldErr(key, "duplicate key (line %d)", k.Line)
		}
		seen[key] = true
		if err := fn(key, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func decodeScalar(n *yaml.Node, field string, dst *string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return fieldErr(field, "must be a string (line %d)", n.Line)
	}
	*dst = n.Value
	return nil
}

func decodeList(n *yaml.Node, field string, dst *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return fieldErr(field, "must be a list of strings (line %d)", n.Line)
	}
	if len(n.Content) > maxListItems {
		return fieldErr(field, "more than %d items", maxListItems)
	}
	for _, c := range n.Content {
		var s string
		if err := decodeScalar(c, field, &s); err != nil {
			return err
		}
		*dst = append(*dst, s)
	}
	return nil
}

// validate checks one file's front matter and fills defaults.
func (fm *FrontMatter) validate() error {
	var errs []error
	if !templateNameRE.MatchString(fm.Name) {
		errs = append(errs, fieldErr("name", "%q must match %s", wire.Abbrev(fm.Name, 80), templateNameRE))
	}
	if fm.Output == "" {
		errs = append(errs, fieldErr("output", "is required"))
	}
	if fm.Scope != "" && fm.Scope != ScopeNode && fm.Scope != ScopeModel {
		errs = append(errs, fieldErr("scope", "%q is not %q or %q", wire.Abbrev(fm.Scope, 80), ScopeNode, ScopeModel))
	}
	if slices.Contains(fm.Validate, "") {
		errs = append(errs, fieldErr("validate", "empty validator name"))
	}
	for _, t := range fm.Match.ChangeTypes {
		if !t.Valid() {
			errs = append(errs, fieldErr("match.change_types", "unknown change type %q", wire.Abbrev(string(t), 80)))
		}
	}
	if slices.Contains(fm.Match.Subjects, "") {
		errs = append(errs, fieldErr("match.subjects", "empty pattern"))
	}
	for _, d := range fm.DependsOn {
		if !templateNameRE.MatchString(d) {
			errs = append(errs, fieldErr("depends_on", "%q is not a template name", wire.Abbrev(d, 80)))
		}
	}
	fm.defaults()
	return errors.Join(errs...)
}

func (fm *FrontMatter) defaults() {
	if fm.Scope == "" {
		fm.Scope = ScopeNode
	}
	if len(fm.Match.ChangeTypes) == 0 {
		fm.Match.ChangeTypes = slices.Clone(ChangeTypesDefault)
	}
	if len(fm.Match.Subjects) == 0 {
		fm.Match.Subjects = []string{"*"}
	}
}
