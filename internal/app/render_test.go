package app

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// tree reads every artifact under root (previous versions left out).
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == ".regen" {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for p, content := range want {
		if got[p] != content {
			t.Errorf("%s: %s differs or is missing", what, p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %s should not be there", what, p)
		}
	}
}

// The tree a replica deploys from FOAF's change events, processed
// concurrently and out of order, equals the full render of the same
// events without a server, and the full render of the replica's model.
func TestIncrementalEqualsAFullRender(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, events := b.loadFOAF(t)
	deployed := tree(t, b.out)
	if len(deployed) == 0 {
		t.Fatal("nothing deployed")
	}

	file, err := os.ReadFile("testdata/foaf.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	fromFile := filepath.Join(t.TempDir(), "out")
	res, err := Render(testkit.Context(t, 60*time.Second), RenderConfig{Templates: b.cfg.Templates, Out: fromFile,
		Inputs: []io.Reader{bytes.NewReader(file)}})
	if err != nil || res.Events != events || res.Artifacts != len(deployed) {
		t.Fatalf("render = %+v, %v: want %d events, %d artifacts", res, err, events, len(deployed))
	}
	sameTree(t, "render of the file", tree(t, fromFile), deployed)

	fromServer := filepath.Join(t.TempDir(), "out")
	if _, err := Render(testkit.Context(t, 60*time.Second), RenderConfig{Templates: b.cfg.Templates, Out: fromServer,
		JS: b.js}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, "render of the model", tree(t, fromServer), deployed)
}

func TestRenderRefusesANonEmptyOut(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "stale.go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render(testkit.Context(t, 10*time.Second), RenderConfig{Templates: "../../examples/templates", Out: out,
		Inputs: []io.Reader{bytes.NewReader(nil)}})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v, want out refused as not empty", err)
	}
}
