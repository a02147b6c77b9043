package graph

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"
)

// loopTmpl loops without writing: the only way to stop it is to abandon
// it. It ends by itself after a while, so the test can wait for it.
const loopTmpl = "---\nname: loop\nmatch:\n  subjects: [\"urn:x:*\"]\n" +
	"output: \"loop/{{ .Node.LocalName }}.txt\"\n---\n{{ range 50000 }}{{ $x := printf \"%0900d\" 1 }}{{ end }}done\n"

func TestARenderThatOutlivesItsDeadlineIsAbandoned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	eng, err := NewEngine(context.Background(), Config{Templates: writeTemplates(t, map[string]string{"loop.tmpl": loopTmpl}),
		Model: newModel(t, b, "MODEL"), MaxAbandoned: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	ch := addLoopNode(t, b, eng)
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = eng.renderOne(ctx, ch, ArtifactID{Template: "loop", Node: "urn:x:a"})
	if !wire.IsPermanent(err) || wire.ReasonOf(err) != wire.ReasonRenderTimeout {
		t.Fatalf("err = %v (reason %s), want permanent %s", err, wire.ReasonOf(err), wire.ReasonRenderTimeout)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("Regenerate returned after %s: it waited for the render", waited)
	}
	if eng.Abandoned() != 1 || !errors.Is(eng.Stuck(), ErrStuck) {
		t.Fatalf("abandoned = %d, stuck = %v: want 1 and ErrStuck", eng.Abandoned(), eng.Stuck())
	}
	testkit.WaitFor(t, 2*time.Minute, "the abandoned render to end", func() bool { return eng.Abandoned() == 0 })
	if err := eng.Stuck(); err != nil {
		t.Fatalf("stuck after the render ended: %v", err)
	}
}

func TestACancelledRenderIsNotPermanent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	eng, err := NewEngine(context.Background(), Config{Templates: writeTemplates(t, map[string]string{"loop.tmpl": loopTmpl}),
		Model: newModel(t, b, "MODEL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	ch := addLoopNode(t, b, eng)
	ctx, cancel := context.WithCancel(b.Ctx)
	cancel() // a shutdown: the render starts, and is abandoned at once
	_, err = eng.renderOne(ctx, ch, ArtifactID{Template: "loop", Node: "urn:x:a"})
	if err == nil || wire.IsPermanent(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a transient cancellation", err)
	}
	testkit.WaitFor(t, 2*time.Minute, "the abandoned render to end", func() bool { return eng.Abandoned() == 0 })
}

// addLoopNode puts urn:x:a in the model (and the engine's index), for a
// render of the loop template to start at once.
func addLoopNode(t *testing.T, b *testkit.Bundle, eng *Engine) wire.Change {
	t.Helper()
	ch := testkit.NodeChange(1, wire.NodeAdded, "urn:x:a", nil)
	rev, _, err := eng.cfg.Model.Apply(b.Ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Index().Wait(b.Ctx, rev); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestRangesOverTheDataHaveAWorkBudget(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"literal": "{{ range 100000000000000 }}{{ end }}",
		"nested":  "{{ range 20000 }}{{ range 20000 }}{{ end }}{{ end }}",
	} {
		tt, err := ParseTemplate(name+".tmpl", []byte("---\nname: "+name+"\noutput: x\n---\n"+body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tt.Render(context.Background(), RenderData{}); !errors.Is(err, ErrTooMuchWork) {
			t.Errorf("%s: err = %v, want ErrTooMuchWork", name, err)
		}
	}
	fine, _ := ParseTemplate("fine.tmpl", []byte("---\nname: fine\noutput: x\n---\n{{ range 3 }}{{ range 3 }}.{{ end }}{{ end }}"))
	if out, err := fine.Render(context.Background(), RenderData{}); err != nil || string(out) != "........." {
		t.Fatalf("fine = %q, %v", out, err)
	}
}
