package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// TemplateFuncs returns the helpers every template (body and output path)
// can call. All are pure and deterministic:
//
//	goName s      exported Go identifier from a label or local name ("" if none)
//	local s       URI local name (after the last '#' or '/')
//	lower, upper  case mapping; title upper-cases the first letter
//	text v        a value as text (lists joined with "; ")
//	quote v       Go-quoted string of text v
//	join sep l    join a list's items as text
//	sortedKeys m  the keys of a map, sorted
//	comment s     s as "// " Go comment lines, wrapped, control chars removed
//	oneLine s     s with whitespace runs and control chars collapsed to " "
//	shortHash s   the first 12 hex digits of sha256(s)
//	default d v   v, or d when v is nil or ""
//	trim, replace, hasPrefix, hasSuffix, contains  as in package strings
//	list a...     a list of its arguments
//	isList v      whether v is a list (a multi-valued property)
//	uniqueNames l a map from each subject of l to a Go identifier unique in l (UniqueNames)
func TemplateFuncs() template.FuncMap {
	fm := template.FuncMap{
		"goName": GoName, "local": LocalName,
		"lower": strings.ToLower, "upper": strings.ToUpper, "title": title,
		"text":       func(v any) string { return toText(v, "; ") },
		"quote":      func(v any) string { return strconv.Quote(toText(v, "; ")) },
		"join":       func(sep string, v any) string { return joinAny(sep, v) },
		"sortedKeys": sortedKeys, "comment": comment, "oneLine": oneLine,
		"shortHash": shortHash, "default": dflt,
		"trim": strings.TrimSpace, "replace": strings.ReplaceAll,
		"hasPrefix": strings.HasPrefix, "hasSuffix": strings.HasSuffix,
		"contains": strings.Contains, "list": func(a ...any) []any { return a },
		"isList":      func(v any) bool { _, ok := v.([]any); return ok },
		"uniqueNames": UniqueNames,
	}
	maps.Copy(fm, vocabFuncs())
	return fm
}

// GoName turns a label or local name into an exported Go identifier:
// "family_name" → "FamilyName", "rdfs:comment" → "RdfsComment", "3d" →
// "N3d". It returns "" when s has no letter or digit.
func GoName(s string) string {
	var b strings.Builder
	upperNext := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upperNext = true
			continue
		}
		if upperNext {
			r = unicode.ToUpper(r)
			upperNext = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if first, _ := utf8.DecodeRuneInString(out); out != "" && !unicode.IsUpper(first) {
		out = "N" + out
	}
	return out
}

func title(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func joinAny(sep string, v any) string {
	switch l := v.(type) {
	case []string:
		return strings.Join(l, sep)
	case []any:
		return toText(l, sep)
	}
	return toText(v, sep)
}

func sortedKeys(m any) ([]string, error) {
	switch t := m.(type) {
	case map[string]any:
		return slices.Sorted(maps.Keys(t)), nil
	case map[string]string:
		return slices.Sorted(maps.Keys(t)), nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("sortedKeys: %T is not a map with string keys", m)
}

// oneLine collapses whitespace runs and drops characters a Go source file
// cannot hold, so the result is safe inside a // comment.
func oneLine(v any) string {
	s := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == '\uFEFF' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(toText(v, "; "), "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}

// comment renders v as "// "-prefixed lines wrapped near 76 columns.
func comment(v any) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(oneLine(v)) {
		if line != "" && len(line)+1+len(w) > 76 {
			lines = append(lines, line)
			line = ""
		}
		line = strings.TrimPrefix(line+" "+w, " ")
	}
	lines = append(lines, line)
	for i, l := range lines {
		lines[i] = strings.TrimRight("// "+l, " ")
	}
	return strings.Join(lines, "\n")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

func dflt(d, v any) any {
	if v == nil || v == "" {
		return d
	}
	return v
}
