package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
)

// GraphDetail is what the whole-model scenario measured.
type GraphDetail struct {
	Vocabulary string `json:"vocabulary"`
	Events     int    `json:"events"`
	Artifacts  int    `json:"artifacts"`
	// DrainSeconds is the replica's drain of the vocabulary's events
	// (derived re-renders included); RenderSeconds is `regen render` of
	// the same events from the file, RenderFromServerSeconds of the model
	// the drain left.
	DrainSeconds            float64 `json:"drain_seconds"`
	RenderSeconds           float64 `json:"render_seconds"`
	RenderFromServerSeconds float64 `json:"render_from_server_seconds"`
	Renders                 int64   `json:"renders"`
	// Changes: a property's rdfs:domain toggled on and off; ChangeMS is
	// publish → the event's cycle done, ClassDeployMS publish → the
	// class file deployed; RendersPerChange the artifacts each rendered.
	Changes          int       `json:"changes"`
	ChangeP50MS      float64   `json:"change_p50_ms"`
	ClassDeployP99MS float64   `json:"class_deploy_p99_ms"`
	RendersPerChange []float64 `json:"renders_per_change_min_median_max"`
}

// graph loads the largest vocabulary through a replica running the
// examples/gopkg templates, compares the drain with `regen render` of the
// same events (and checks that both trees are equal), then times 200
// property changes on the loaded model.
func (s *suite) graph(ctx context.Context) error {
	d := &s.rep.Detail.Graph
	d.Vocabulary = s.cfg.GraphVocabulary
	if s.cfg.GraphTemplates == "" {
		s.rep.Errors["load_vs_render_ratio"] = "no graph templates configured"
		return nil
	}
	evs, err := readVocabulary(s.cfg.GraphVocabulary)
	if err != nil {
		s.rep.Errors["load_vs_render_ratio"] = err.Error()
		return nil
	}
	d.Events = len(evs)
	if err := s.env.provision(ctx, 0); err != nil {
		return err
	}
	if err := s.resetModel(ctx); err != nil {
		return err
	}
	if err := s.env.fill(ctx, len(evs), func(i int) (wire.ChangeEvent, []byte) {
		data, _ := json.Marshal(evs[i])
		return evs[i], data
	}); err != nil {
		return err
	}
	out := filepath.Join(s.env.dir, "graph-out")
	start := time.Now()
	svc, err := s.startGraphReplica(ctx, out)
	if err != nil {
		return err
	}
	defer stopReplica(ctx, svc)
	if err := s.load(ctx, svc, start, len(evs)); err != nil {
		return err
	}
	if err := s.renderBaseline(ctx, out); err != nil {
		return err
	}
	return s.changes(ctx, svc, out)
}

func readVocabulary(path string) ([]wire.ChangeEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("graph bench: %w", err)
	}
	defer f.Close()
	var evs []wire.ChangeEvent
	for ch, err := range wire.ReadChanges(f) {
		if err != nil {
			return nil, fmt.Errorf("graph bench: %s: %w", path, err)
		}
		evs = append(evs, ch.Event)
	}
	return evs, nil
}

// resetModel empties the model and ledger buckets of earlier scenarios.
func (s *suite) resetModel(ctx context.Context) error {
	for _, b := range []string{wire.ModelBucket, wire.ArtifactBucket} {
		if err := s.env.js.DeleteKeyValue(ctx, b); err != nil && !strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("graph bench: reset %s: %w", b, err)
		}
	}
	return nil
}

func (s *suite) startGraphReplica(ctx context.Context, out string) (*app.Service, error) {
	cfg := config.Default()
	cfg.NATS.URL, cfg.Templates = s.env.url(), s.cfg.GraphTemplates
	cfg.Deploy = []string{"dir:" + out}
	cfg.Orchestrator.Replica = "regen-bench-graph"
	svc, err := app.Start(ctx, cfg, s.cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("graph bench: %w", err)
	}
	return svc, nil
}

func stopReplica(ctx context.Context, svc *app.Service) {
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = svc.Stop(stopCtx)
}

// load times the replica's drain of the n vocabulary events published
// before it started at start.
func (s *suite) load(ctx context.Context, svc *app.Service, start time.Time, n int) error {
	if err := s.waitDrained(ctx, svc, int64(n)); err != nil {
		return err
	}
	s.rep.Detail.Graph.DrainSeconds = time.Since(start).Seconds()
	s.rep.Detail.Graph.Renders = svc.Graph().Renders()
	s.progress("graph: drained %d events of %s in %.2fs (%d renders)", n,
		filepath.Base(s.cfg.GraphVocabulary), s.rep.Detail.Graph.DrainSeconds, s.rep.Detail.Graph.Renders)
	return nil
}

// waitDrained polls until n events were processed and the changes stream
// is empty (derived re-renders done too).
func (s *suite) waitDrained(ctx context.Context, svc *app.Service, n int64) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		st := svc.Orchestrator().Stats()
		if st.Failures > 0 {
			return fmt.Errorf("graph bench: %d events failed", st.Failures)
		}
		if st.EventsProcessed >= n {
			info, err := s.env.js.Stream(ctx, wire.ChangesStream)
			if err != nil {
				return fmt.Errorf("graph bench: %w", err)
			}
			if info.CachedInfo().State.Msgs == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("graph bench: drain: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// renderBaseline times `regen render` of the vocabulary file and of the
// drained model, and checks the drained tree equals the full render.
func (s *suite) renderBaseline(ctx context.Context, out string) error {
	d := &s.rep.Detail.Graph
	fromFile := filepath.Join(s.env.dir, "graph-render")
	f, err := os.Open(s.cfg.GraphVocabulary)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	res, err := app.Render(ctx, app.RenderConfig{Templates: s.cfg.GraphTemplates, Out: fromFile, Inputs: []io.Reader{f}, Logger: s.cfg.Logger})
	if err != nil {
		return fmt.Errorf("graph bench: render: %w", err)
	}
	d.RenderSeconds, d.Artifacts = time.Since(start).Seconds(), res.Artifacts
	start = time.Now()
	if _, err := app.Render(ctx, app.RenderConfig{Templates: s.cfg.GraphTemplates, Out: filepath.Join(s.env.dir, "graph-render-server"),
		JS: s.env.js, Logger: s.cfg.Logger}); err != nil {
		return fmt.Errorf("graph bench: render from server: %w", err)
	}
	d.RenderFromServerSeconds = time.Since(start).Seconds()
	if diff := diffTrees(out, fromFile); diff != "" {
		return fmt.Errorf("graph bench: the drained tree differs from the full render: %s", diff)
	}
	ratio := d.DrainSeconds / d.RenderSeconds
	s.rep.LoadVsRenderRatio = &ratio
	s.progress("graph: render %.2fs (from the server %.2fs), %d artifacts; load_vs_render_ratio %.2f",
		d.RenderSeconds, d.RenderFromServerSeconds, d.Artifacts, ratio)
	return nil
}

// diffTrees names the first difference between two trees ("" if none),
// skipping dot folders (previous versions).
func diffTrees(a, b string) string {
	ta, tb := readTree(a), readTree(b)
	for p, c := range ta {
		if !bytes.Equal(tb[p], c) {
			return p
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			return p + " (missing)"
		}
	}
	return ""
}

func readTree(root string) map[string][]byte {
	out := map[string][]byte{}
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	return out
}

// changes toggles a property's rdfs:domain on a class 200 times, timing
// each from publish to its cycle done (and to the class file deployed).
func (s *suite) changes(ctx context.Context, svc *app.Service, out string) error {
	const prop, class = "http://www.w3.org/ns/prov#wasAssociatedWith", "http://www.w3.org/ns/prov#Entity"
	n := 200
	if s.cfg.Quick {
		n = 10
	}
	deployed, done, stop, err := s.watchTelemetry()
	if err != nil {
		return err
	}
	defer stop()
	var took, toClass, renders []float64
	for i := range n {
		typ := []wire.ChangeType{wire.EdgeAdded, wire.EdgeRemoved}[i%2]
		p, o := "rdfs:domain", class
		ev := wire.ChangeEvent{ID: fmt.Sprintf("bench-change-%d", i), ChangeType: typ, Timestamp: time.Now().UTC(),
			Subject: prop, Predicate: &p, Object: &o, Source: "bench"}
		r0 := svc.Graph().Renders()
		data, _ := json.Marshal(ev)
		msg := nats.NewMsg(ev.NATSSubject(wire.PriorityNormal))
		msg.Data = data
		start := time.Now()
		if _, err := s.env.js.PublishMsg(ctx, msg); err != nil {
			return fmt.Errorf("graph bench: publish: %w", err)
		}
		exec, classAt, err := awaitDeploy(ctx, deployed, "gopkg/entity.go")
		if err != nil {
			return err
		}
		if err := awaitCycle(ctx, done, exec); err != nil {
			return err
		}
		took = append(took, ms(time.Since(start)))
		toClass = append(toClass, ms(classAt.Sub(start)))
		renders = append(renders, float64(svc.Graph().Renders()-r0))
	}
	d := &s.rep.Detail.Graph
	d.Changes = n
	slices.Sort(took)
	slices.Sort(toClass)
	slices.Sort(renders)
	p99 := percentile(took, 0.99)
	s.rep.ChangeP99MS = &p99
	d.ChangeP50MS, d.ClassDeployP99MS = percentile(took, 0.5), percentile(toClass, 0.99)
	d.RendersPerChange = []float64{renders[0], percentile(renders, 0.5), renders[len(renders)-1]}
	s.progress("graph: %d domain changes, p50 %.1f ms, p99 %.1f ms (class file p99 %.1f ms), renders per change %v",
		n, d.ChangeP50MS, p99, d.ClassDeployP99MS, d.RendersPerChange)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// watchTelemetry subscribes to deployment_completed and
// regeneration_completed.
func (s *suite) watchTelemetry() (deployed, done chan *nats.Msg, stop func(), err error) {
	deployed, done = make(chan *nats.Msg, 1024), make(chan *nats.Msg, 1024)
	sd, err := s.env.nc.ChanSubscribe(wire.TelemetrySubjectFor(wire.DeploymentCompleted), deployed)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := s.env.nc.ChanSubscribe(wire.TelemetrySubjectFor(wire.RegenerationCompleted), done)
	if err != nil {
		_ = sd.Unsubscribe()
		return nil, nil, nil, err
	}
	return deployed, done, func() { _ = sd.Unsubscribe(); _ = sc.Unsubscribe() }, nil
}

// awaitDeploy waits for the next deployment of path (by the change, or by
// the artifact_stale event it caused).
func awaitDeploy(ctx context.Context, ch chan *nats.Msg, path string) (string, time.Time, error) {
	for {
		select {
		case m := <-ch:
			var rec struct {
				Data wire.DeploymentCompletedData `json:"data"`
			}
			if json.Unmarshal(m.Data, &rec) == nil && rec.Data.Path == path {
				return rec.Data.ExecutionID, time.Now(), nil
			}
		case <-ctx.Done():
			return "", time.Time{}, fmt.Errorf("graph bench: waiting for %s: %w", path, ctx.Err())
		case <-time.After(30 * time.Second):
			return "", time.Time{}, fmt.Errorf("graph bench: %s not deployed within 30s", path)
		}
	}
}

// awaitCycle waits for the regeneration_completed of execution exec.
func awaitCycle(ctx context.Context, ch chan *nats.Msg, exec string) error {
	for {
		select {
		case m := <-ch:
			var rec struct {
				Data wire.RegenerationCompletedData `json:"data"`
			}
			if json.Unmarshal(m.Data, &rec) == nil && rec.Data.ExecutionID == exec {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("graph bench: waiting for cycle %s: %w", exec, ctx.Err())
		case <-time.After(30 * time.Second):
			return fmt.Errorf("graph bench: cycle %s not done within 30s", exec)
		}
	}
}
