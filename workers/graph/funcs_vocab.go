package graph

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// vocabFuncs are the template helpers for turning RDFS/OWL vocabularies
// into code; TemplateFuncs includes them. All are pure and deterministic
// (rdfList reads the model it is given, nothing else):
//
//	goType URI             Go type of an XSD, RDF or schema.org datatype
//	                       ("string", "int64", "uint64", "float64", "bool",
//	                       "time.Time", "[]byte"), "" for anything else
//	fieldType RANGES NAMES REF
//	                       Go type of a property with these ranges: goType
//	                       of a datatype, "*"+NAMES[class] for a class with
//	                       a name, REF otherwise; several ranges of one Go
//	                       type give it, several references (pointers or
//	                       REF) give REF, a mix gives "any", none gives REF
//	uniqueFields LIST TAKEN
//	                       map from each item of LIST to an exported Go
//	                       identifier (goName of its local name) unique in
//	                       LIST and not in TAKEN; colliding names get 2, 3...
//	concat LIST...         the lists one after the other, as []string
//	sortUniq LIST          the items sorted, duplicates dropped
//	dropBlank LIST         the items that are not blank nodes ("_:...")
//	hasItem LIST X         whether X is an item of LIST
//	rdfList MODEL HEAD     the items of the RDF collection starting at HEAD
//	                       (rdf:first of each cell, along rdf:rest to rdf:nil),
//	                       read with MODEL.Objects; a cycle ends it
//	listsHolding MODEL X   the heads of the RDF collections X is an item of,
//	                       found from X backwards (rdf:first, rdf:rest), so
//	                       that a template reads only those lists' cells
//
// A LIST is a []string, a []any (its items as text, as "text" prints
// them) or nil.
func vocabFuncs() template.FuncMap {
	return template.FuncMap{
		"goType": GoType, "fieldType": fieldType, "uniqueFields": uniqueFields,
		"concat": concat, "sortUniq": sortUniq, "dropBlank": dropBlank,
		"hasItem": hasItem, "rdfList": rdfList, "listsHolding": listsHolding,
	}
}

// Namespaces of the datatypes GoType knows.
const (
	nsXSD     = "http://www.w3.org/2001/XMLSchema#"
	nsRDF     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRDFS    = "http://www.w3.org/2000/01/rdf-schema#"
	nsSchema  = "http://schema.org/"
	nsSchemaS = "https://schema.org/"
	rdfNil    = nsRDF + "nil"
)

// maxListCells bounds the cells rdfList walks.
const maxListCells = 100_000

// xsdTypes maps XSD local names to Go types.
var xsdTypes = map[string]string{
	"string": "string", "normalizedString": "string", "token": "string",
	"language": "string", "Name": "string", "NCName": "string",
	"NMTOKEN": "string", "NMTOKENS": "string", "ID": "string",
	"IDREF": "string", "IDREFS": "string", "ENTITY": "string",
	"ENTITIES": "string", "anyURI": "string", "QName": "string",
	"NOTATION": "string", "duration": "string", "dayTimeDuration": "string",
	"yearMonthDuration": "string", "time": "string", "gYear": "string",
	"gYearMonth": "string", "gMonth": "string", "gMonthDay": "string",
	"gDay": "string", "anySimpleType": "string", "anyAtomicType": "string",
	"integer": "int64", "int": "int64", "long": "int64", "short": "int64",
	"byte": "int64", "nonNegativeInteger": "int64", "positiveInteger": "int64",
	"nonPositiveInteger": "int64", "negativeInteger": "int64",
	"unsignedLong": "uint64", "unsignedInt": "uint64",
	"unsignedShort": "uint64", "unsignedByte": "uint64",
	"decimal": "float64", "double": "float64", "float": "float64",
	"boolean":  "bool",
	"dateTime": "time.Time", "dateTimeStamp": "time.Time", "date": "time.Time",
	"hexBinary": "[]byte", "base64Binary": "[]byte",
}

// rdfTypes maps RDF local names to Go types.
var rdfTypes = map[string]string{
	"langString": "string", "PlainLiteral": "string", "HTML": "string",
	"XMLLiteral": "string", "JSON": "string",
}

// rdfsTypes maps RDFS local names to Go types.
var rdfsTypes = map[string]string{"Literal": "string"}

// schemaTypes maps schema.org data types to Go types.
var schemaTypes = map[string]string{
	"Text": "string", "URL": "string", "CssSelectorType": "string",
	"XPathType": "string", "PronounceableText": "string", "Time": "string",
	"Number": "float64", "Float": "float64", "Integer": "int64",
	"Boolean": "bool", "True": "bool", "False": "bool",
	"DateTime": "time.Time", "Date": "time.Time",
}

// GoType returns the Go type of the datatype uri: XSD, RDF (rdf:langString,
// rdf:HTML...), rdfs:Literal and schema.org data types, as full URIs or
// with the prefixes xsd:, rdf:, rdfs:, schema:. Text types give "string",
// integers "int64" (unsigned ones "uint64"), decimals and floats
// "float64", booleans "bool", xsd:dateTime and xsd:date "time.Time",
// binary types "[]byte"; durations and partial dates (xsd:gYear...) are
// "string". Anything else, a class included, gives "".
func GoType(uri string) string {
	for _, ns := range []struct {
		full, prefix string
		types        map[string]string
	}{
		{nsXSD, "xsd:", xsdTypes}, {nsRDF, "rdf:", rdfTypes}, {nsRDFS, "rdfs:", rdfsTypes},
		{nsSchema, "schema:", schemaTypes}, {nsSchemaS, "", schemaTypes},
	} {
		name, ok := strings.CutPrefix(uri, ns.full)
		if !ok && ns.prefix != "" {
			name, ok = strings.CutPrefix(uri, ns.prefix)
		}
		if ok {
			return ns.types[name]
		}
	}
	return ""
}

// fieldType is the Go type of a property whose ranges are ranges; names
// holds the Go type names of the classes that have one, ref is the type
// of a reference to anything else.
func fieldType(ranges any, names map[string]string, ref string) (string, error) {
	rs, err := listOf("fieldType", ranges)
	if err != nil {
		return "", err
	}
	var types []string
	refs := true
	for _, r := range rs {
		t := GoType(r)
		switch {
		case t != "":
			refs = false
		case names[r] != "":
			t = "*" + names[r]
		default:
			t = ref
		}
		types = append(types, t)
	}
	types = sortedUnique(types)
	switch {
	case len(types) == 1:
		return types[0], nil
	case len(types) == 0 || refs:
		return ref, nil
	}
	return "any", nil
}

// uniqueFields names each item of list with an exported Go identifier,
// unique among them and not in taken. An item whose name is its own gets
// it; the first (in sorted order) of a colliding group does too, the
// others the first free of name2, name3... The result depends on the set
// of items alone, not on their order.
func uniqueFields(list, taken any) (map[string]string, error) {
	items, err := listOf("uniqueFields", list)
	if err != nil {
		return nil, err
	}
	reserved, err := listOf("uniqueFields", taken)
	if err != nil {
		return nil, err
	}
	items = sortedUnique(items)
	used := map[string]bool{}
	for _, r := range reserved {
		used[r] = true
	}
	base := make(map[string]string, len(items))
	count := map[string]int{}
	for _, s := range items {
		b := GoName(LocalName(s))
		if b == "" {
			b = "P" + shortHash(s)
		}
		base[s] = b
		count[b]++
	}
	out := make(map[string]string, len(items))
	for _, s := range items { // names that are nobody else's first
		if b := base[s]; count[b] == 1 && !used[b] {
			out[s], used[b] = b, true
		}
	}
	for _, s := range items {
		if _, done := out[s]; done {
			continue
		}
		name := base[s]
		for n := 2; used[name]; n++ {
			name = base[s] + strconv.Itoa(n)
		}
		out[s], used[name] = name, true
	}
	return out, nil
}

// concat joins lists into one []string.
func concat(lists ...any) ([]string, error) {
	out := []string{}
	for _, l := range lists {
		items, err := listOf("concat", l)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// sortUniq returns the items of list sorted, without duplicates.
func sortUniq(list any) ([]string, error) {
	items, err := listOf("sortUniq", list)
	if err != nil {
		return nil, err
	}
	return sortedUnique(items), nil
}

func sortedUnique(items []string) []string {
	out := slices.Clone(items)
	slices.Sort(out)
	return slices.Compact(out)
}

// dropBlank returns the items of list that are not blank nodes.
func dropBlank(list any) ([]string, error) {
	items, err := listOf("dropBlank", list)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range items {
		if !strings.HasPrefix(s, "_:") {
			out = append(out, s)
		}
	}
	return out, nil
}

// hasItem reports whether x is one of list's items.
func hasItem(list any, x string) (bool, error) {
	items, err := listOf("hasItem", list)
	return slices.Contains(items, x), err
}

// objectLister is the part of the model rdfList reads: the sorted objects
// of a subject's edges with a predicate (ModelView.Objects).
type objectLister interface {
	Objects(subject, predicate string) ([]string, error)
}

// rdfList returns the items of the RDF collection whose first cell is
// head: every rdf:first of each cell, in the order of the cells, following
// the first rdf:rest until rdf:nil, a cell without rdf:rest, a cell seen
// before (a cycle) or maxListCells cells. Its error is the model's.
func rdfList(m objectLister, head string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for cell := head; cell != "" && cell != rdfNil && !seen[cell] && len(seen) < maxListCells; {
		seen[cell] = true
		first, err := m.Objects(cell, "rdf:first")
		if err != nil {
			return nil, fmt.Errorf("rdfList: %w", err)
		}
		out = append(out, first...)
		next, err := m.Objects(cell, "rdf:rest")
		if err != nil {
			return nil, fmt.Errorf("rdfList: %w", err)
		}
		cell = ""
		if len(next) > 0 {
			cell = next[0]
		}
	}
	return out, nil
}

// subjectLister is the part of the model listsHolding reads.
type subjectLister interface {
	Subjects(pred, obj string) ([]string, error)
}

// listsHolding returns the heads of the RDF collections that hold x as an
// item, sorted: from each cell whose rdf:first is x back along rdf:rest
// to a cell no other cell's rest points to. A cycle ends a walk.
func listsHolding(m subjectLister, x string) ([]string, error) {
	cells, err := m.Subjects("rdf:first", x)
	if err != nil {
		return nil, fmt.Errorf("listsHolding: %w", err)
	}
	heads := map[string]bool{}
	for _, cell := range cells {
		seen := map[string]bool{}
		for !seen[cell] && len(seen) < maxListCells {
			seen[cell] = true
			prev, err := m.Subjects("rdf:rest", cell)
			if err != nil {
				return nil, fmt.Errorf("listsHolding: %w", err)
			}
			if len(prev) == 0 {
				heads[cell] = true
				break
			}
			cell = prev[0]
		}
	}
	return slices.Sorted(maps.Keys(heads)), nil
}

// listOf reads a template list argument: a []string, a []any (each item
// as text) or nil.
func listOf(fn string, v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = toText(x, "; ")
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %T is not a list", fn, v)
}
