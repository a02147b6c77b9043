package benchkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/benchkit"
)

// TestQuickRunReportsEveryFigure runs the whole suite at tiny sizes and
// checks the report's shape: every key the issue names is present and
// numeric. It asserts no speed: this machine's speed is not the test's.
func TestQuickRunReportsEveryFigure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := benchkit.Run(ctx, benchkit.Config{Sizes: benchkit.QuickSizes(), Quick: true,
		ChildCommand: []string{os.Args[0], "-test.run=^$"}, WatermillDir: "../../bench/watermill",
		Templates: "../../examples/templates", GraphTemplates: "../../examples/gopkg/templates",
		GraphVocabulary: "../../examples/gopkg/testdata/prov.jsonl", Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if testing.Verbose() {
		t.Log(progress.String())
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"overhead_ratio", "p95_cycle_ms_1000", "p95_cycle_ms_10000", "watermill_ratio_noop",
		"watermill_ratio_io64", "rss_mb_100k", "events_per_s_real", "load_vs_render_ratio", "change_p99_ms",
		"priority_p99_ms_critical_under_load", "priority_p99_ms_critical_idle"} {
		if v, ok := got[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number (errors: %v)", k, got[k], rep.Errors)
		}
	}
	eff, _ := got["efficiency"].(map[string]any)
	for _, c := range []string{"1", "8", "64", "256"} {
		if v, ok := eff[c].(float64); !ok || v <= 0 {
			t.Errorf("efficiency[%s] = %v, want a positive number", c, eff[c])
		}
	}
	checkOutputs(t, rep)
}

// checkOutputs renders the table and the Markdown section and checks each
// names every figure; quick runs are never judged.
func checkOutputs(t *testing.T, rep *benchkit.Report) {
	t.Helper()
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(doc, []byte("# Benchmarks\n\nhand-written notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second write replaces the generated section
		if err := rep.WriteDoc(doc, "regen bench --quick"); err != nil {
			t.Fatal(err)
		}
	}
	md, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"overhead_ratio", "efficiency[256]", "p95_cycle_ms_10000", "rss_mb_100k",
		"load_vs_render_ratio", "change_p99_ms", "priority_p99_ms_critical_under_load", "priority_p99_ms_critical_idle"} {
		if !strings.Contains(table.String(), want) || !strings.Contains(string(md), want) {
			t.Errorf("table or doc lacks %s:\n%s\n%s", want, table.String(), md)
		}
	}
	if !strings.Contains(string(md), "hand-written notes") || strings.Count(string(md), "## Latest run") != 1 {
		t.Errorf("doc did not keep the hand-written part or repeated the section:\n%s", md)
	}
	if rep.AllMet() {
		t.Error("a quick run must not be judged")
	}
}
