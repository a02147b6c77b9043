package observe_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/internal/testkit"
)

// sample matches one exposition line "name{labels} value".
func sample(body, series string) (string, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func TestMetricsEndpointAfterEvents(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	svc := startReplica(t, replicaConfig(t, srv, "metrics-1"))
	publishNodes(t, js, 20)
	url := "http://" + svc.HTTPAddr() + "/metrics"
	var body string
	testkit.WaitFor(t, 30*time.Second, "20 succeeded events on /metrics", func() bool {
		_, body = get(t, url)
		v, _ := sample(body, `regen_events_total{outcome="succeeded"}`)
		d, _ := sample(body, `regen_event_duration_seconds_count`)
		return v == "20" && d == "20"
	})
	for _, series := range []string{
		`regen_events_total{outcome="failed"}`, `regen_event_duration_seconds_count`,
		`regen_cycle_duration_seconds_count`, `regen_cycles_total`, `regen_deployments_total`,
		`regen_in_flight`, `regen_concurrency`, `regen_batch_size`, `regen_consumer_pending`,
		`regen_breaker_state{component="engine"}`, `regen_breaker_state{component="deployer"}`,
		`go_goroutines`, `process_cpu_seconds_total`,
	} {
		if _, ok := sample(body, series); !ok {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if v, _ := sample(body, `regen_concurrency`); v != "4" {
		t.Errorf("regen_concurrency = %s, want 4", v)
	}
	if v, _ := sample(body, `regen_deployments_total`); v == "0" {
		t.Error("regen_deployments_total = 0 after 20 node_added events")
	}
}

func TestProbesFollowTheReplicaAndTheServer(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	cfg := replicaConfig(t, srv, "probes-1")
	svc := startReplica(t, cfg)
	base := "http://" + svc.HTTPAddr()
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz while running = %d %s", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz = %d", code)
	}
	if code, _ := get(t, base+"/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("pprof without --pprof = %d, want 404", code)
	}
	srv.Stop()
	testkit.WaitFor(t, 10*time.Second, "readyz 503 naming nats", func() bool {
		code, body := get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"failed":"nats"`)
	})
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz with NATS away = %d, want 200 (the process is alive)", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // NATS is gone: don't wait for flushes
	defer cancel()
	_ = svc.Stop(ctx)
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Fatal("HTTP server still answering after Stop")
	}
}

func TestPprofServedWithTheFlag(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	cfg := replicaConfig(t, srv, "pprof-1")
	cfg.Pprof = true
	svc := startReplica(t, cfg)
	if code, _ := get(t, "http://"+svc.HTTPAddr()+"/debug/pprof/"); code != http.StatusOK {
		t.Fatalf("pprof with --pprof = %d", code)
	}
}

func TestRegistryListsLiveReplicasAndForgetsStoppedOnes(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	a := startReplica(t, replicaConfig(t, srv, "replica-a"))
	b := startReplica(t, replicaConfig(t, srv, "replica.b"))
	ctx := testkit.Context(t, 30*time.Second)
	list, err := observe.ListReplicas(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Replica != "replica-a" || list[1].Replica != "replica.b" {
		t.Fatalf("replicas = %+v", list)
	}
	if r := list[0]; r.PID == 0 || r.Host == "" || r.Version == "" || !r.Running || r.Concurrency != 4 ||
		r.BatchSize != 32 || r.Breakers["engine"] != "closed" || r.StartedAt.IsZero() {
		t.Fatalf("snapshot = %+v", r)
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, wire.ReplicasBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, observe.ReplicaKey("replica.b")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("stopped replica's key: %v, want ErrKeyNotFound", err)
	}
	list, err = observe.ListReplicas(ctx, js)
	if err != nil || len(list) != 1 || list[0].Replica != "replica-a" {
		t.Fatalf("after stop: %+v, %v", list, err)
	}
	if ttl := bucketTTL(t, kv); ttl != 3*replicaConfig(t, srv, "x").StatsInterval {
		t.Fatalf("bucket TTL = %s, want 3 x stats_interval", ttl)
	}
	_ = a
}

func bucketTTL(t *testing.T, kv jetstream.KeyValue) time.Duration {
	t.Helper()
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.TTL()
}

func TestRegistryRefreshesSnapshots(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	cfg := replicaConfig(t, srv, "fresh-1")
	cfg.StatsInterval = 50 * time.Millisecond
	startReplica(t, cfg)
	publishNodes(t, js, 5)
	ctx := testkit.Context(t, 30*time.Second)
	testkit.WaitFor(t, 30*time.Second, "snapshot with 5 events", func() bool {
		list, err := observe.ListReplicas(ctx, js)
		return err == nil && len(list) == 1 && list[0].Stats.EventsProcessed == 5 && list[0].LastExecution != nil
	})
}

func TestListReplicasWithoutBucket(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	_, js := testkit.Connect(t, srv)
	if _, err := observe.ListReplicas(testkit.Context(t, 10*time.Second), js); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("err = %v, want ErrBucketNotFound", err)
	}
}

func TestServiceDrainsFirstThenDeletesItsKey(t *testing.T) {
	t.Parallel()
	srv := testkit.StartServer(t)
	nc, js := testkit.Connect(t, srv)
	ctx := testkit.Context(t, 30*time.Second)
	if err := bus.Provision(ctx, js, bus.ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	o := &fakeOrch{running: true}
	svc, err := observe.Start(ctx, observe.Config{HTTP: "127.0.0.1:0", Replica: "fake 1", Logger: discard},
		observe.Deps{Orchestrator: o, Conn: nc, JetStream: js})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	url := "http://" + svc.HTTPAddr() + "/readyz"
	if code, body := get(t, url); code != http.StatusOK {
		t.Fatalf("readyz = %d %s", code, body)
	}
	o.mu.Lock()
	o.running = false
	o.mu.Unlock()
	if code, body := get(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, `"failed":"orchestrator"`) {
		t.Fatalf("readyz with the orchestrator stopped = %d %s", code, body)
	}
	svc.Drain()
	if code, body := get(t, url); code != http.StatusServiceUnavailable || !strings.Contains(body, `"failed":"draining"`) {
		t.Fatalf("readyz while draining = %d %s", code, body)
	}
	if list, err := observe.ListReplicas(ctx, js); err != nil || len(list) != 1 || list[0].Replica != "fake 1" {
		t.Fatalf("replicas before Stop: %+v %v", list, err)
	}
	if err := svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := observe.ListReplicas(ctx, js); err != nil || len(list) != 0 {
		t.Fatalf("replicas after Stop: %+v %v", list, err)
	}
}

func TestStartRefusesMissingDeps(t *testing.T) {
	t.Parallel()
	if _, err := observe.Start(context.Background(), observe.Config{Replica: "x"}, observe.Deps{}); err == nil {
		t.Fatal("Start without deps succeeded")
	}
}
