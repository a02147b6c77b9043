package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/embedded"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/workers/deploy"
	"github.com/regen-dev/regen/workers/graph"
)

// RenderConfig configures Render.
type RenderConfig struct {
	// Templates is the template directory. Required.
	Templates string
	// Out is the directory the artifacts are written to; it must be
	// empty or absent, so the result is the full build and nothing else.
	// Required.
	Out string
	// Inputs are JSON-lines change events, applied in order, as if
	// published one after the other (a line's number across all of them
	// is its stream sequence). With Inputs the model is built from
	// them alone, in a throwaway in-process server; without, it is the
	// model in JS's REGEN_MODEL.
	Inputs []io.Reader
	// JS is the JetStream of a running deployment (without Inputs).
	JS jetstream.JetStream
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// RenderResult says what Render did.
type RenderResult struct {
	Events    int // change events applied (Inputs only)
	Artifacts int // artifacts written
}

// Render is the one-shot full build: every template for every node of
// the model, written to Out. It is the baseline incremental regeneration
// must equal.
func Render(ctx context.Context, cfg RenderConfig) (RenderResult, error) {
	var res RenderResult
	if err := checkRenderConfig(cfg); err != nil {
		return res, err
	}
	model, events, stop, err := renderModel(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer stop()
	res.Events = events
	eng, err := graph.NewEngine(ctx, graph.Config{Templates: cfg.Templates, Model: model, Logger: cfg.Logger})
	if err != nil {
		return res, fmt.Errorf("render: %w", err)
	}
	defer eng.Close()
	arts, err := eng.RenderModel(ctx)
	if err != nil {
		return res, fmt.Errorf("render: %w", err)
	}
	out := &deploy.Dir{Root: cfg.Out}
	for _, a := range arts {
		if _, err := out.Deploy(ctx, a); err != nil {
			return res, fmt.Errorf("render: %w", err)
		}
		res.Artifacts++
	}
	return res, nil
}

func checkRenderConfig(cfg RenderConfig) error {
	var errs []error
	if cfg.Templates == "" {
		errs = append(errs, errors.New("render: templates: required"))
	}
	if cfg.Out == "" {
		errs = append(errs, errors.New("render: out: required"))
	} else if entries, err := os.ReadDir(cfg.Out); err == nil && len(entries) > 0 {
		errs = append(errs, fmt.Errorf("render: out: %s is not empty", cfg.Out))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("render: out: %w", err))
	}
	if len(cfg.Inputs) == 0 && cfg.JS == nil {
		errs = append(errs, errors.New("render: give change events or a server to read the model from"))
	}
	return errors.Join(errs...)
}

// renderModel is the model to render: built from cfg.Inputs in a
// throwaway server (stop shuts it down), or the deployment's.
func renderModel(ctx context.Context, cfg RenderConfig) (*graph.Model, int, func(), error) {
	if len(cfg.Inputs) == 0 {
		kv, err := cfg.JS.KeyValue(ctx, wire.ModelBucket)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("render: model bucket: %w", err)
		}
		return graph.NewModel(kv), 0, func() {}, nil
	}
	tmp := &scratchServer{}
	js, err := tmp.start(ctx)
	if err != nil {
		tmp.stop()
		return nil, 0, nil, fmt.Errorf("render: %w", err)
	}
	model, events, err := loadInputs(ctx, js, cfg.Inputs)
	if err != nil {
		tmp.stop()
		return nil, 0, nil, err
	}
	return model, events, tmp.stop, nil
}

// scratchServer is an in-process server in a temporary directory, for a
// model that lives only as long as one render.
type scratchServer struct {
	dir string
	srv *server.Server
	nc  *nats.Conn
}

func (s *scratchServer) start(ctx context.Context) (jetstream.JetStream, error) {
	var err error
	if s.dir, err = os.MkdirTemp("", "regen-render"); err != nil {
		return nil, err
	}
	s.srv, err = embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: s.dir, ServerName: "regen-render"})
	if err != nil {
		return nil, err
	}
	var js jetstream.JetStream
	s.nc, js, err = bus.Connect(ctx, bus.ConnConfig{URLs: s.srv.ClientURL(), Name: "regen render"})
	return js, err
}

// stop closes whatever start opened.
func (s *scratchServer) stop() {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// loadInputs creates a model bucket in js and applies every input to it,
// as one stream of lines published one input after the other: a line's
// number across all of them is its stream sequence.
func loadInputs(ctx context.Context, js jetstream.JetStream, inputs []io.Reader) (*graph.Model, int, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: wire.ModelBucket, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, 0, fmt.Errorf("render: model bucket: %w", err)
	}
	var all []io.Reader
	for _, in := range inputs {
		all = append(all, in, strings.NewReader("\n"))
	}
	model := graph.NewModel(kv)
	events, err := graph.LoadChanges(ctx, model, io.MultiReader(all...))
	if err != nil {
		return nil, events, fmt.Errorf("render: inputs: %w", err)
	}
	return model, events, nil
}
