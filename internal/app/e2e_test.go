package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestThousandEventsDeployedToBothTargets(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {})
	b.cfg.Deploy = append(b.cfg.Deploy, "objectstore:ARTIFACTS_TEST")
	tel := countTelemetry(t, b.nc)
	svc := b.start(t)
	publish(t, b.js, syntheticNodes(1000))
	o := svc.Orchestrator()
	testkit.WaitFor(t, 60*time.Second, "1000 events processed", func() bool { return o.Stats().EventsProcessed >= 1000 })
	testkit.WaitFor(t, 10*time.Second, "stream empty", func() bool { return streamMsgs(t, b.js, wire.ChangesStream) == 0 })
	if s := o.Stats(); s.Failures != 0 || s.EventsProcessed != 1000 {
		t.Fatalf("stats = %+v", s)
	}
	if n := countFiles(t, b.out); n != 1000 {
		t.Fatalf("%d files in the dir target, want 1000 (one Go type per node)", n)
	}
	store, err := b.js.ObjectStore(context.Background(), "ARTIFACTS_TEST")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := store.List(context.Background())
	if err != nil || len(objs) != 1000 {
		t.Fatalf("object store holds %d objects (%v), want 1000", len(objs), err)
	}
	testkit.WaitFor(t, 10*time.Second, "telemetry", func() bool {
		return tel.get(wire.RegenerationStarted) == 1 && tel.get(wire.DeploymentCompleted) >= 1000 &&
			tel.get(wire.DeploymentStarted) >= 1000 && tel.get(wire.RegenerationCompleted) >= 1
	})
	// Two targets write each artifact; deployment_started is still one per artifact.
	if started, completed := tel.get(wire.DeploymentStarted), tel.get(wire.DeploymentCompleted); started != completed {
		t.Fatalf("%d deployment_started for %d deployment_completed", started, completed)
	}
}

func TestFOAFRendersATypePerClass(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	svc, _ := b.loadFOAF(t)
	if s := svc.Orchestrator().Stats(); s.Failures != 0 {
		t.Fatalf("stats = %+v", s)
	}
	matches, _ := filepath.Glob(filepath.Join(b.out, "types", "person_*.go"))
	if len(matches) != 1 {
		t.Fatalf("person type: %v", matches)
	}
	body, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type Person struct", "http://xmlns.com/foaf/0.1/Agent"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("Person type lacks %q:\n%s", want, body)
		}
	}
}

func TestInvalidEventsReachTheDLQWithReasons(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	tel := countTelemetry(t, b.nc)
	svc := b.start(t)
	bad := [][]byte{
		[]byte(`{not json`),
		[]byte(`{"id":"u1","change_type":"node_exploded","subject":"urn:x"}`),
		[]byte(`{"id":"","change_type":"node_added","subject":"urn:x"}`),
		[]byte(`{"id":"u3","change_type":"node_added","subject":""}`),
		[]byte(`{"id":"u4","change_type":"edge_added","subject":"urn:x"}`),
	}
	publish(t, b.js, append(bad, syntheticNodes(3)...))
	o := svc.Orchestrator()
	testkit.WaitFor(t, 30*time.Second, "8 events", func() bool { return o.Stats().EventsProcessed >= 8 })
	reasons := map[string]bool{}
	for dl, err := range bus.NewDeadLetters(b.js).All(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		reasons[dl.Reason] = true
	}
	for _, want := range []string{wire.ReasonBadJSON, wire.ReasonUnknownChangeType, wire.ReasonMissingID, wire.ReasonMissingSubject, wire.ReasonEdgeIncomplete} {
		if !reasons[want] {
			t.Errorf("no dead letter with reason %s (have %v)", want, reasons)
		}
	}
	if s := o.Stats(); s.Rejected != 5 || s.DeploymentsCompleted != 3 {
		t.Fatalf("stats = %+v", s)
	}
	testkit.WaitFor(t, 10*time.Second, "event_rejected telemetry", func() bool { return tel.get(wire.EventRejected) == 5 })
	if streamMsgs(t, b.js, wire.ChangesStream) != 0 {
		t.Fatal("invalid events left in the work queue")
	}
}

func TestExecEngineEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *config.Config) {
		c.Engine = "exec"
		// A static generator script: the event reaches it on stdin and as
		// quoted environment variables, never as code.
		c.Exec = config.Exec{Command: []string{"/bin/sh", "-c", `mkdir -p events && cat > "events/$REGEN_EVENT_ID.json"`},
			Timeout: 5 * time.Second}
	})
	svc := b.start(t)
	publish(t, b.js, syntheticNodes(20))
	o := svc.Orchestrator()
	testkit.WaitFor(t, 30*time.Second, "20 events", func() bool { return o.Stats().EventsProcessed >= 20 })
	if s := o.Stats(); s.Failures != 0 || s.DeploymentsCompleted != 20 {
		t.Fatalf("stats = %+v", s)
	}
	body, err := os.ReadFile(filepath.Join(b.out, "events", "id-7.json"))
	if err != nil || !strings.Contains(string(body), `"subject":"urn:test:Node7"`) {
		t.Fatalf("artifact: %s (%v)", body, err)
	}
}
