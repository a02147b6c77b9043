package orchestrator_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus/embedded"
	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/orchestrator"
)

// upperEngine renders one artifact per change: the subject in a file.
type upperEngine struct{}

func (upperEngine) Regenerate(_ context.Context, ch wire.Change) ([]wire.Artifact, error) {
	return []wire.Artifact{{Path: "nodes/" + ch.Event.ID + ".txt", Content: []byte(ch.Event.Subject)}}, nil
}

// countingDeployer counts what it deploys.
type countingDeployer struct{ n atomic.Int64 }

func (d *countingDeployer) Deploy(context.Context, wire.Artifact) (bool, error) {
	d.n.Add(1)
	return true, nil
}

// Example runs an orchestrator in-process against an embedded nats-server:
// provision, publish three events, drain them with a non-autonomous run.
func Example() {
	dir, _ := os.MkdirTemp("", "regen-example")
	defer os.RemoveAll(dir)
	srv, err := embedded.Start(embedded.Config{Listen: "127.0.0.1:-1", StoreDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	ctx := context.Background()
	nc, js, _ := bus.Connect(ctx, bus.ConnConfig{URLs: srv.ClientURL()})
	defer nc.Close()
	_ = bus.Provision(ctx, js, bus.ProvisionConfig{})
	for i := range 3 {
		msg := nats.NewMsg(wire.ChangeSubject(wire.PriorityNormal, wire.NodeAdded))
		msg.Data = fmt.Appendf(nil, `{"id":"ev-%d","change_type":"node_added","subject":"urn:example:N%d"}`, i, i)
		_, _ = js.PublishMsg(ctx, msg)
	}
	src, _ := bus.NewSource(ctx, js, bus.SourceConfig{})
	dep := &countingDeployer{}
	cfg := orchestrator.DefaultConfig()
	cfg.Autonomous = false // drain the backlog, then stop
	cfg.FetchWait = 100 * time.Millisecond
	o, _ := orchestrator.New(cfg, orchestrator.Deps{Source: src, Engine: upperEngine{}, Deployer: dep,
		Telemetry: bus.NewTelemetry(nc, "example"), DeadLetters: bus.NewDeadLetters(js),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := o.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	<-o.Done()
	err = o.Stop(ctx)
	s := o.Stats()
	fmt.Println("stop error:", err)
	fmt.Println("events:", s.EventsProcessed, "deployed:", dep.n.Load(), "failures:", s.Failures)
	// Output:
	// stop error: <nil>
	// events: 3 deployed: 3 failures: 0
}
