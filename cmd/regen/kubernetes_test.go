package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/app"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/observe"
	"github.com/regen-dev/regen/orchestrator"
	"github.com/regen-dev/regen/workers/graph"
)

// The manifests of deploy/kubernetes/ (applied with kubectl apply -k) and
// the NATS chart values beside them, checked against the code: the flags,
// REGEN_* variables, ports, probe paths, stop and start bounds, consumer,
// stream and bucket names regen really has, and the cluster the values
// describe.

// The probe paths a pod needs: liveness must not fail while NATS is
// unreachable (a restart would not help), readiness should.
const (
	livenessPath  = "/healthz"
	readinessPath = "/readyz"
)

// kedaJetStreamKeys are the trigger metadata keys of KEDA's nats-jetstream
// scaler (pkg/scalers/nats_jetstream_scaler.go, natsJetStreamMetadata).
var kedaJetStreamKeys = []string{"natsServerMonitoringEndpoint", "account", "accountID", "stream", "consumer",
	"lagThreshold", "activationLagThreshold", "useHttps"}

// levelConsumers are the durable consumers on wire.ChangesStream a
// replica with cfg fetches from, highest priority first.
func levelConsumers(cfg config.Config) []string {
	if !cfg.Orchestrator.PriorityLevels {
		return []string{cfg.Consumer.Name}
	}
	var out []string
	for _, p := range wire.Priorities {
		out = append(out, bus.LevelConsumer(cfg.Consumer.Name, p))
	}
	return out
}

// checkBuckets checks that the object-store deploy targets use the bucket
// the README names (wire.ObjectStoreDefault).
func checkBuckets(t *testing.T, where string, cfg config.Config) {
	t.Helper()
	targets, err := cfg.Targets()
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, tg := range targets {
		if tg.Kind == "objectstore" && tg.Arg != wire.ObjectStoreDefault {
			t.Errorf("%s: --deploy objectstore:%s, want objectstore:%s", where, tg.Arg, wire.ObjectStoreDefault)
		}
	}
}

func TestKubernetesKustomizationListsEveryManifest(t *testing.T) {
	t.Parallel()
	b := loadKubernetes(t)
	entries, err := os.ReadDir("../../" + k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".yaml") && n != "kustomization.yaml" && n != "nats-values.yaml" && !slices.Contains(b.kust.Resources, n) {
			t.Errorf("%s is not in kustomization.yaml resources: kubectl apply -k would leave it out", n)
		}
	}
	var ns k8sObject
	for _, o := range b.objects {
		if o.Kind == "Namespace" {
			ns = o
		} else if o.Metadata.Namespace != "" && o.Metadata.Namespace != b.kust.Namespace {
			t.Errorf("%s: namespace %s, the kustomization sets %s", o.where(), o.Metadata.Namespace, b.kust.Namespace)
		}
	}
	if ns.Metadata.Name != b.kust.Namespace {
		t.Errorf("Namespace %q, want the kustomization's %q", ns.Metadata.Name, b.kust.Namespace)
	}
	if b.natsNamespace == b.kust.Namespace {
		t.Errorf("NATS and regen share namespace %s: kubectl delete -k would delete the cluster", b.natsNamespace)
	}
}

func TestKubernetesDeploymentUsesRealFlagsPortsAndProbes(t *testing.T) {
	t.Parallel()
	b := loadKubernetes(t)
	d := b.deployment(t)
	where, c, cfg := d.obj.where(), d.container, d.cfg
	if d.dep.Spec.Replicas != nil {
		t.Errorf("%s: spec.replicas is set: every apply would reset what KEDA chose", where)
	}
	if !d.dep.Spec.Selector.selects(d.dep.Spec.Template.Metadata.Labels) {
		t.Errorf("%s: selector %v does not select the pod labels %v", where, d.dep.Spec.Selector.MatchLabels,
			d.dep.Spec.Template.Metadata.Labels)
	}
	compose := loadCompose(t)
	if want := compose.Services[compose.replicas()[0]].Image; c.Image != want {
		t.Errorf("%s: image %s, want %s (the image docker-compose.yml builds from the Dockerfile)", where, c.Image, want)
	}
	checkBuckets(t, where, cfg)
	checkNATSURLs(t, where, b, cfg)
	httpPort := port(t, cfg.HTTP)
	if c.portNumber("http") != httpPort {
		t.Errorf("%s: container port http is %s, --http listens on %s", where, c.portNumber("http"), httpPort)
	}
	for _, p := range []struct {
		what  string
		probe *k8sProbe
		path  string
	}{{"startupProbe", c.StartupProbe, livenessPath}, {"livenessProbe", c.LivenessProbe, livenessPath},
		{"readinessProbe", c.ReadinessProbe, readinessPath}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet", where, p.what)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s GET %s, want %s", where, p.what, p.probe.HTTPGet.Path, p.path)
		}
		if got := c.portNumber(p.probe.HTTPGet.Port); got != httpPort {
			t.Errorf("%s: %s probes port %s, --http is %s", where, p.what, got, httpPort)
		}
		checkServed(t, where+" "+p.what, p.probe.HTTPGet.Path)
		// A check that times out answers 503 after CheckTimeout: the probe
		// must wait for that answer, not time out first.
		if time.Duration(p.probe.TimeoutSeconds)*time.Second <= observe.CheckTimeoutDefault {
			t.Errorf("%s: %s timeoutSeconds %d, a check may take %s", where, p.what, p.probe.TimeoutSeconds, observe.CheckTimeoutDefault)
		}
	}
	if s := c.StartupProbe; s != nil {
		if budget := time.Duration(s.PeriodSeconds*s.FailureThreshold) * time.Second; budget <= startTimeout {
			t.Errorf("%s: the startupProbe gives up after %s, but a replica may take %s to start serving", where, budget, startTimeout)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" {
			t.Errorf("%s: no %s request", where, r)
		}
	}
	if c.Resources.Limits["memory"] == "" {
		t.Errorf("%s: no memory limit", where)
	}
	checkTemplatesVolume(t, b, d)
}

// checkNATSURLs checks that --nats-url names every server of the chart's
// StatefulSet by its pod in the headless service, and --replicas the
// cluster's size.
func checkNATSURLs(t *testing.T, where string, b k8sBundle, cfg config.Config) {
	t.Helper()
	n := b.values.Config.Cluster.Replicas
	if cfg.NATS.Replicas != n {
		t.Errorf("%s: --replicas %d, but nats-values.yaml runs %d servers", where, cfg.NATS.Replicas, n)
	}
	clientPort := cmp.Or(b.values.Config.NATS.Port, chartClientPort)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("nats://%s-%d.%s-headless.%s.svc.cluster.local:%d", b.release, i, b.release, b.natsNamespace, clientPort))
	}
	if got := strings.Split(cfg.NATS.URL, ","); !slices.Equal(got, want) {
		t.Errorf("%s: --nats-url %q, want every server of the chart release %s: %q", where, got, b.release, want)
	}
}

// checkTemplatesVolume checks that --templates is a mounted volume of the
// generated ConfigMap, that its files are copies of examples/templates
// (kustomize reads no file outside its directory) and that they load
// with the graph engine laid out as the kubelet mounts a ConfigMap
// (symlinks through ..data).
func checkTemplatesVolume(t *testing.T, b k8sBundle, d regenDeployment) {
	t.Helper()
	where := d.obj.where()
	var volume string
	for _, m := range d.container.VolumeMounts {
		if m.MountPath == d.cfg.Templates {
			volume = m.Name
		}
	}
	var cm string
	for _, v := range d.dep.Spec.Template.Spec.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			cm = v.ConfigMap.Name
		}
	}
	if cm == "" {
		t.Fatalf("%s: --templates %s is not a mounted ConfigMap volume", where, d.cfg.Templates)
	}
	var files []string
	for _, g := range b.kust.ConfigMapGenerator {
		if g.Name == cm {
			files = g.Files
		}
	}
	if len(files) == 0 {
		t.Fatalf("%s: ConfigMap %s is not generated by kustomization.yaml", where, cm)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_01_01_00_00_00.000000000")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")))
	for _, f := range files {
		name := filepath.Base(f)
		content := readRepoFile(t, k8sDir+f)
		if content != readRepoFile(t, "examples/templates/"+name) {
			t.Errorf("%s%s differs from examples/templates/%s: copy it again", k8sDir, f, name)
		}
		must(t, os.WriteFile(filepath.Join(data, name), []byte(content), 0o644))
		must(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
	set, err := graph.LoadTemplates(dir)
	if err != nil {
		t.Fatalf("ConfigMap %s: %v", cm, err)
	}
	if len(set.Templates()) != len(files) {
		t.Errorf("ConfigMap %s: %d templates loaded from %d files", cm, len(set.Templates()), len(files))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKubernetesTerminationOutlastsTheGracefulStop(t *testing.T) {
	t.Parallel()
	d := loadKubernetes(t).deployment(t)
	tg := d.dep.Spec.Template.Spec.TerminationGracePeriodSeconds
	if tg == nil {
		t.Fatalf("%s: no terminationGracePeriodSeconds (Kubernetes' 30s)", d.obj.where())
	}
	// After SIGTERM: in-flight events get shutdown_grace, the rest of the
	// stop stopOverrun, then the NATS drain and the span flush.
	stop := d.cfg.Orchestrator.ShutdownGrace + stopOverrun + app.DrainTimeout + tracingShutdownTimeout
	if got := time.Duration(*tg) * time.Second; got <= stop {
		t.Errorf("%s: terminationGracePeriodSeconds %s, but with shutdown_grace %s a replica may take %s to stop",
			d.obj.where(), got, d.cfg.Orchestrator.ShutdownGrace, stop)
	}
}

func TestKubernetesMetricsServiceAndDisruptionBudget(t *testing.T) {
	t.Parallel()
	b := loadKubernetes(t)
	d := b.deployment(t)
	labels := d.dep.Spec.Template.Metadata.Labels
	httpPort := port(t, d.cfg.HTTP)
	var svc k8sService
	o := b.only(t, "v1", "Service", &svc)
	if !(labelSelector{MatchLabels: svc.Spec.Selector}).selects(labels) {
		t.Errorf("%s: selector %v does not select the regen pods %v", o.where(), svc.Spec.Selector, labels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("%s: ports %v, want the metrics port", o.where(), svc.Spec.Ports)
	}
	p := svc.Spec.Ports[0]
	if strconv.Itoa(p.Port) != httpPort || d.container.portNumber(p.Name) != httpPort ||
		d.container.portNumber(cmp.Or(p.TargetPort, strconv.Itoa(p.Port))) != httpPort {
		t.Errorf("%s: port %s %d -> %s, want the container's http port, --http %s", o.where(), p.Name, p.Port, p.TargetPort, httpPort)
	}
	var pdb k8sPDB
	o = b.only(t, "policy/v1", "PodDisruptionBudget", &pdb)
	if !pdb.Spec.Selector.selects(labels) {
		t.Errorf("%s: selector does not select the regen pods", o.where())
	}
	var so kedaScaledObject
	b.only(t, "keda.sh/v1alpha1", "ScaledObject", &so)
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		if *pdb.Spec.MaxUnavailable < 1 {
			t.Errorf("%s: maxUnavailable %d blocks every drain", o.where(), *pdb.Spec.MaxUnavailable)
		}
	case pdb.Spec.MinAvailable != nil && so.Spec.MinReplicaCount != nil:
		if *pdb.Spec.MinAvailable >= *so.Spec.MinReplicaCount {
			t.Errorf("%s: minAvailable %d at minReplicaCount %d blocks every drain", o.where(), *pdb.Spec.MinAvailable, *so.Spec.MinReplicaCount)
		}
	default:
		t.Errorf("%s: neither maxUnavailable nor minAvailable", o.where())
	}
}

func TestKubernetesScaledObjectWatchesEveryLevelConsumer(t *testing.T) {
	t.Parallel()
	b := loadKubernetes(t)
	d := b.deployment(t)
	var so kedaScaledObject
	o := b.only(t, "keda.sh/v1alpha1", "ScaledObject", &so)
	where := o.where()
	if ref := so.Spec.ScaleTargetRef; ref.Name != d.obj.Metadata.Name || (ref.Kind != "" && ref.Kind != "Deployment") {
		t.Errorf("%s: scales %s %s, want Deployment %s", where, ref.Kind, ref.Name, d.obj.Metadata.Name)
	}
	lo, hi := so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount
	if lo == nil || hi == nil || *lo < 1 || *hi < *lo {
		t.Fatalf("%s: minReplicaCount %v, maxReplicaCount %v: want 1 <= min <= max", where, lo, hi)
	}
	endpoint := fmt.Sprintf("%s-headless.%s.svc.cluster.local:%d", b.release, b.natsNamespace,
		cmp.Or(b.values.Config.Monitor.Port, chartMonitorPort))
	var consumers []string
	var thresholds []int
	for i, tr := range so.Spec.Triggers {
		tw := fmt.Sprintf("%s trigger %d", where, i)
		if tr.Type != "nats-jetstream" {
			t.Errorf("%s: type %s, want nats-jetstream", tw, tr.Type)
		}
		for k := range tr.Metadata {
			if !slices.Contains(kedaJetStreamKeys, k) {
				t.Errorf("%s: %s is not a nats-jetstream metadata key", tw, k)
			}
		}
		m := tr.Metadata
		if m["stream"] != wire.ChangesStream {
			t.Errorf("%s: stream %q, want %s", tw, m["stream"], wire.ChangesStream)
		}
		if m["natsServerMonitoringEndpoint"] != endpoint {
			t.Errorf("%s: natsServerMonitoringEndpoint %q, want the chart's headless service %s (KEDA finds the consumer leader through it)",
				tw, m["natsServerMonitoringEndpoint"], endpoint)
		}
		if m["account"] != "$G" || b.values.Config.Merge["accounts"] != nil {
			t.Errorf("%s: account %q: regen joins without accounts, so it is in $G", tw, m["account"])
		}
		if https, _ := strconv.ParseBool(cmp.Or(m["useHttps"], "false")); https != b.values.Config.Monitor.TLS.Enabled {
			t.Errorf("%s: useHttps %v, the monitoring port's TLS is %v", tw, https, b.values.Config.Monitor.TLS.Enabled)
		}
		lag, err := strconv.Atoi(m["lagThreshold"])
		if err != nil || lag < 1 {
			t.Errorf("%s: lagThreshold %q, want a positive integer", tw, m["lagThreshold"])
		}
		if a, err := strconv.Atoi(cmp.Or(m["activationLagThreshold"], "0")); err != nil || a < 0 {
			t.Errorf("%s: activationLagThreshold %q", tw, m["activationLagThreshold"])
		}
		consumers = append(consumers, m["consumer"])
		thresholds = append(thresholds, lag)
	}
	if want := levelConsumers(d.cfg); !slices.Equal(consumers, want) {
		t.Fatalf("%s: triggers on consumers %q, want one per consumer the replicas fetch from, highest level first: %q",
			where, consumers, want)
	}
	if !slices.IsSorted(thresholds) {
		t.Errorf("%s: lagThresholds %v: a higher level should add replicas at a smaller backlog", where, thresholds)
	}
	checkAckPendingFits(t, where, d.cfg, *hi)
}

// checkAckPendingFits checks that each consumer's max_ack_pending holds
// what n replicas may keep unacked, computed as app's sizing check does.
func checkAckPendingFits(t *testing.T, where string, cfg config.Config, n int) {
	t.Helper()
	o, err := orchestrator.New(cfg.Orchestrator, orchestrator.Deps{Source: nopSource{}, Engine: nopEngine{}, Deployer: nopDeployer{}})
	if err != nil {
		t.Fatal(err)
	}
	per := orchestrator.MaxBatchesHeld * o.BatchAtTuneMax()
	if have := cfg.Consumer.MaxAckPending; have < n*per {
		t.Errorf("%s: maxReplicaCount %d replicas may hold %d x %d unacked per consumer, --max-ack-pending is %d",
			where, n, n, per, have)
	}
}

type nopSource struct{}

func (nopSource) Fetch(context.Context, int, time.Duration) ([]wire.Message, error) { return nil, nil }
func (nopSource) Pending(context.Context) (uint64, error)                           { return 0, nil }

type nopEngine struct{}

func (nopEngine) Regenerate(context.Context, wire.Change) ([]wire.Artifact, error) { return nil, nil }

type nopDeployer struct{}

func (nopDeployer) Deploy(context.Context, wire.Artifact) (bool, error) { return false, nil }

func TestKubernetesNATSValuesRunTheDurableCluster(t *testing.T) {
	t.Parallel()
	v := loadKubernetes(t).values
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 {
		t.Errorf("cluster enabled %v, replicas %d: want a 3-node cluster", c.Cluster.Enabled, c.Cluster.Replicas)
	}
	js := c.JetStream
	if !js.Enabled || !js.FileStore.Enabled || !js.FileStore.PVC.Enabled || js.FileStore.Dir == "" {
		t.Errorf("jetstream %+v: want JetStream on a file store on a PVC", js)
	}
	if !c.Monitor.Enabled {
		t.Error("monitor disabled: KEDA's scaler reads the monitoring endpoint")
	}
	if tag, _, _ := strings.Cut(v.Container.Image.Tag, "-"); tag != natsServerVersion(t) {
		t.Errorf("container.image.tag %s, but the tests run nats-server %s (go.mod)", v.Container.Image.Tag, natsServerVersion(t))
	}
	// The jetstream block the chart renders, with the values' merge, as
	// nats-server reads it.
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "jetstream {\n  store_dir: %q\n", t.TempDir())
	for k, val := range js.Merge {
		fmt.Fprintf(&conf, "  %s: %s\n", k, val)
	}
	conf.WriteString("}\n")
	file := filepath.Join(t.TempDir(), "nats.conf")
	must(t, os.WriteFile(file, conf.Bytes(), 0o644))
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatalf("config.jetstream.merge %v: %v", js.Merge, err)
	}
	if !opts.SyncAlways {
		t.Errorf("config.jetstream.merge %v: the server does not fsync before every ack (sync_interval: always, docs/reliability.md)", js.Merge)
	}
}

func TestKubernetesReadmeSaysHowToInstall(t *testing.T) {
	t.Parallel()
	readme := readRepoFile(t, k8sDir+"README.md")
	for _, want := range []string{"kubectl apply -k " + k8sDir, "cmd/regen/kubernetes_test.go", "sync_interval: always",
		"scaling_advice"} {
		if !strings.Contains(readme, want) {
			t.Errorf("%sREADME.md lacks %q", k8sDir, want)
		}
	}
}
