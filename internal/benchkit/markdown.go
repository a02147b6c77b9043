package benchkit

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"
)

// The generated part of docs/benchmarks.md sits between these markers;
// everything outside them is written by hand and kept.
const (
	docBegin = "<!-- regen bench: generated, do not edit by hand -->"
	docEnd   = "<!-- regen bench: end of generated part -->"
)

// WriteDoc writes the report into the generated section of the Markdown
// file at path (created if missing), keeping the hand-written rest.
func (r *Report) WriteDoc(path, command string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("bench doc: %w", err)
	}
	section := docBegin + "\n" + r.markdown(command) + docEnd
	var out string
	before, rest, found := strings.Cut(string(old), docBegin)
	_, after, foundEnd := strings.Cut(rest, docEnd)
	switch {
	case found && foundEnd:
		out = before + section + after
	case len(old) > 0:
		out = strings.TrimRight(string(old), "\n") + "\n\n" + section + "\n"
	default:
		out = "# Benchmarks\n\n" + section + "\n"
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return fmt.Errorf("bench doc: %w", err)
	}
	return nil
}

// markdown is the generated section: machine, command, figures.
func (r *Report) markdown(command string) string {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "\n## Latest run\n\n")
	fmt.Fprintf(&b, "- when: %s, %.0f s in all\n", time.Now().UTC().Format(time.RFC3339), r.Detail.Seconds)
	fmt.Fprintf(&b, "- machine: %s, nproc %d (GOMAXPROCS %d), %s, %s\n", m.CPU, m.NumCPU, m.GoMaxProcs, m.OS, m.GoVersion)
	fmt.Fprintf(&b, "- command: `%s`\n", command)
	if r.Detail.WatermillVersions != "" {
		fmt.Fprintf(&b, "- Watermill side: %s\n", r.Detail.WatermillVersions)
	}
	fmt.Fprintf(&b, "\n| figure | value (and the absolute numbers behind it) | target | verdict |\n|---|---|---|---|\n")
	for _, row := range r.rows() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", row[0], row[1], row[2], row[3])
	}
	for _, k := range sortedKeys(r.Errors) {
		fmt.Fprintf(&b, "\n`%s` is null: %s\n", k, r.Errors[k])
	}
	fmt.Fprintf(&b, "\nRSS samples of the draining child (MB): %s\n\n", floats(r.Detail.RSS.SamplesMB))
	return b.String()
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f1(x)
	}
	return strings.Join(parts, " ")
}
