package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/observe"
)

// The docker-compose.yml and Dockerfile at the repository root, checked
// against the code: every flag, REGEN_* variable, port, probe path and
// bucket name they use must be one regen has, and the docs must describe
// them as they are.

const regenBinPath = "/usr/local/bin/regen" // where the Dockerfile installs regen

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Profiles    []string          `yaml:"profiles"`
	Configs     []struct {
		Source string `yaml:"source"`
	} `yaml:"configs"`
	Healthcheck struct {
		Test    []string `yaml:"test"`
		Disable bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// natsNodes are the services running the nats image, by name.
func (c composeFile) natsNodes() []string {
	var out []string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// replicas are the services running `regen run`, by name.
func (c composeFile) replicas() []string {
	var out []string
	for name, s := range c.Services {
		if len(s.Command) > 0 && s.Command[0] == "run" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// runConfig loads the configuration `regen run args` would run with,
// environment env: a flag regen lacks, or a bad value, fails the test.
func runConfig(t *testing.T, where string, args []string, env map[string]string) config.Config {
	t.Helper()
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("%s: %q is not `regen run`", where, args)
	}
	fs := flag.NewFlagSet("regen run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := config.Flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		t.Fatalf("%s: regen run %q: %v", where, args[1:], err)
	}
	if fs.NArg() > 0 {
		t.Fatalf("%s: unexpected argument %q", where, fs.Arg(0))
	}
	cfg, err := l.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s: invalid configuration: %v", where, err)
	}
	return cfg
}

// commandFlags are the flags `regen <cmd> -h` lists.
func commandFlags(t *testing.T, cmd string) []string {
	t.Helper()
	var usage bytes.Buffer
	if code := realMain(context.Background(), []string{cmd, "-h"}, io.Discard, &usage); code != 2 {
		t.Fatalf("regen %s -h: exit %d", cmd, code)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\s+-(\S+)`).FindAllStringSubmatch(usage.String(), -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatalf("regen %s -h lists no flags:\n%s", cmd, usage.String())
	}
	return out
}

func checkFlags(t *testing.T, where string, args []string) {
	t.Helper()
	known := commandFlags(t, args[0])
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !slices.Contains(known, name) {
			t.Errorf("%s: regen %s has no flag %s", where, args[0], a)
		}
	}
}

// port is the port of a host:port address (":8080" too).
func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// checkHealthcheck runs a healthcheck argv (after "CMD") against the routes
// of regen's own HTTP server and returns the probed URL.
func checkHealthcheck(t *testing.T, where string, argv []string) *url.URL {
	t.Helper()
	if len(argv) < 2 || argv[0] != regenBinPath || argv[1] != "healthcheck" {
		t.Fatalf("%s: healthcheck %q is not `%s healthcheck`", where, argv, regenBinPath)
	}
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	probe := fs.String("url", "http://127.0.0.1:8080/readyz", "")
	fs.Bool("q", false, "")
	fs.Duration("timeout", 0, "")
	if err := fs.Parse(argv[2:]); err != nil {
		t.Fatalf("%s: healthcheck flags %q: %v", where, argv[2:], err)
	}
	checkFlags(t, where, argv[1:])
	u, err := url.Parse(*probe)
	if err != nil {
		t.Fatalf("%s: probe URL: %v", where, err)
	}
	checkServed(t, where, u.RequestURI())
	return u
}

// checkServed checks that regen's own HTTP server answers 2xx on the
// request URI (path and query), as `regen healthcheck` sees it.
func checkServed(t *testing.T, where, requestURI string) {
	t.Helper()
	srv := httptest.NewServer(observe.NewServer(observe.ServerConfig{Addr: "127.0.0.1:0"}).Handler())
	defer srv.Close()
	var errOut bytes.Buffer
	if code := realMain(context.Background(), []string{"healthcheck", "-q", "--url", srv.URL + requestURI}, io.Discard, &errOut); code != 0 {
		t.Errorf("%s: regen's HTTP server does not answer 2xx on %s: %s", where, requestURI, errOut.String())
	}
}

func natsServerVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*github\.com/nats-io/nats-server/v2 v(\S+)`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no nats-server requirement")
	}
	return m[1]
}

func TestComposeNATSClusterMatchesTheTestedServer(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	nodes := c.natsNodes()
	if len(nodes) != 3 {
		t.Fatalf("nats services = %v, want a 3-node cluster", nodes)
	}
	want := natsServerVersion(t)
	for _, n := range nodes {
		s := c.Services[n]
		tag := strings.TrimPrefix(s.Image, "nats:")
		if v, _, _ := strings.Cut(tag, "-"); v != want {
			t.Errorf("%s: image %s, but the tests run nats-server %s (go.mod)", n, s.Image, want)
		}
		if len(s.Configs) != 1 || s.Configs[0].Source != "nats-cluster" {
			t.Errorf("%s: configs %v, want nats-cluster", n, s.Configs)
		}
		if s.Environment["NATS_NAME"] != n {
			t.Errorf("%s: NATS_NAME = %q, want its service name", n, s.Environment["NATS_NAME"])
		}
	}
	conf := c.Configs["nats-cluster"].Content
	for _, want := range []string{"sync_interval: always", "listen: 0.0.0.0:4222"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nats-cluster config lacks %q", want)
		}
	}
	var routes []string
	for _, m := range regexp.MustCompile(`nats-route://([^:,\s\]]+):`).FindAllStringSubmatch(conf, -1) {
		routes = append(routes, m[1])
	}
	slices.Sort(routes)
	if !slices.Equal(routes, nodes) {
		t.Errorf("cluster routes %v, want every nats service %v", routes, nodes)
	}
}

func TestComposeReplicasUseRealFlagsPortsAndProbes(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	nodes, replicas := c.natsNodes(), c.replicas()
	if len(replicas) != 3 {
		t.Fatalf("regen replicas = %v, want 3", replicas)
	}
	var hostPorts []string
	for _, name := range replicas {
		s := c.Services[name]
		if s.Build == nil {
			t.Errorf("%s: no build: `docker compose up --build` would not build regen", name)
		}
		for k := range s.Environment {
			if !slices.Contains(config.EnvVars(), k) {
				t.Errorf("%s: environment %s is not a variable regen reads", name, k)
			}
		}
		cfg := runConfig(t, name, s.Command, s.Environment)
		checkBuckets(t, name, cfg)
		if cfg.NATS.Replicas != len(nodes) {
			t.Errorf("%s: --replicas %d, but the cluster has %d nodes", name, cfg.NATS.Replicas, len(nodes))
		}
		for _, u := range strings.Split(cfg.NATS.URL, ",") {
			pu, err := url.Parse(u)
			if err != nil || !slices.Contains(nodes, pu.Hostname()) || pu.Port() != "4222" {
				t.Errorf("%s: --nats-url %s is not a nats service's client port", name, u)
			}
		}
		httpPort := port(t, cfg.HTTP)
		if len(s.Ports) != 1 {
			t.Fatalf("%s: ports %v, want its --http port published once", name, s.Ports)
		}
		parts := strings.Split(s.Ports[0], ":")
		if len(parts) != 3 || parts[0] != "127.0.0.1" || parts[2] != httpPort {
			t.Errorf("%s: ports %q, want 127.0.0.1:HOST:%s (the --http port)", name, s.Ports[0], httpPort)
		}
		hostPorts = append(hostPorts, parts[1])
		probe := checkHealthcheck(t, name, slices.DeleteFunc(slices.Clone(s.Healthcheck.Test), func(a string) bool { return a == "CMD" }))
		if probe.Port() != httpPort {
			t.Errorf("%s: healthcheck probes port %s, --http is %s", name, probe.Port(), httpPort)
		}
	}
	slices.Sort(hostPorts)
	if want := []string{"8080", "8081", "8082"}; !slices.Equal(hostPorts, want) {
		t.Errorf("published metrics ports %v, want %v (README: curl 127.0.0.1:8080/metrics)", hostPorts, want)
	}
	pub, ok := c.Services["publisher"]
	if !ok || len(pub.Entrypoint) < 2 || pub.Entrypoint[0] != regenBinPath {
		t.Fatalf("publisher: entrypoint %q", pub.Entrypoint)
	}
	checkFlags(t, "publisher", pub.Entrypoint[1:])
}

// dockerfileArgv returns the JSON argv of a Dockerfile instruction (CMD,
// or HEALTHCHECK ... CMD).
func dockerfileArgv(t *testing.T, dockerfile, instr string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + instr + `.*?(\[.*\])\s*$`).FindStringSubmatch(dockerfile)
	if m == nil {
		t.Fatalf("Dockerfile has no %s [...]", instr)
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[1]), &argv); err != nil {
		t.Fatalf("Dockerfile %s: %v", instr, err)
	}
	return argv
}

func TestDockerfileDefaultCommandServesOutsideTheContainer(t *testing.T) {
	t.Parallel()
	df := readRepoFile(t, "Dockerfile")
	if !strings.Contains(df, "COPY --from=build /out/regen "+regenBinPath) {
		t.Fatalf("Dockerfile does not install regen at %s", regenBinPath)
	}
	cfg := runConfig(t, "Dockerfile CMD", dockerfileArgv(t, df, "CMD"), nil)
	checkBuckets(t, "Dockerfile CMD", cfg)
	if cfg.NATS.URL != "" {
		t.Fatalf("default command joins %s; it should run the embedded server", cfg.NATS.URL)
	}
	for what, addr := range map[string]string{"--listen": cfg.Embedded.Listen, "--http": cfg.HTTP} {
		if host, _, err := net.SplitHostPort(addr); err != nil || host != "0.0.0.0" {
			t.Errorf("default command %s %q: want 0.0.0.0 so the published port works", what, addr)
		}
	}
	for _, p := range []string{port(t, cfg.Embedded.Listen), port(t, cfg.HTTP)} {
		if !regexp.MustCompile(`(?m)^EXPOSE .*\b` + p + `\b`).MatchString(df) {
			t.Errorf("Dockerfile does not EXPOSE %s", p)
		}
	}
	if probe := checkHealthcheck(t, "Dockerfile HEALTHCHECK", dockerfileArgv(t, df, "HEALTHCHECK")); probe.Port() != port(t, cfg.HTTP) {
		t.Errorf("HEALTHCHECK probes port %s, --http is %s", probe.Port(), cfg.HTTP)
	}
	ignore := readRepoFile(t, ".dockerignore")
	for _, p := range []string{".git", "data/", "out/", "bin/"} {
		if !slices.Contains(strings.Fields(ignore), p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
}

// paragraphs returns the blank-line separated paragraphs of a document
// that contain substr, each on one line (runs of white space as one space).
func paragraphs(doc, substr string) []string {
	var out []string
	for p := range strings.SplitSeq(doc, "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); strings.Contains(p, substr) {
			out = append(out, p)
		}
	}
	return out
}

func TestDocsDescribeTheComposeFileAsItIs(t *testing.T) {
	t.Parallel()
	c := loadCompose(t)
	nodes := len(c.natsNodes())
	replicas := runConfig(t, "compose", c.Services[c.replicas()[0]].Command, nil).NATS.Replicas
	const compose = "Compose 2.23.1" // inline configs: content
	if !strings.Contains(c.Configs["nats-cluster"].Content, "sync_interval: always") {
		t.Fatal("the docs below promise sync_interval: always")
	}
	readme := paragraphs(readRepoFile(t, "README.md"), "docker compose up")
	if len(readme) == 0 {
		t.Fatal("README does not mention `docker compose up`")
	}
	for _, p := range readme {
		for _, want := range []string{fmt.Sprintf("%d-node", nodes), fmt.Sprintf("R%d", replicas), "fsync before every ack", compose} {
			if !strings.Contains(p, want) {
				t.Errorf("README paragraph on compose lacks %q:\n%s", want, p)
			}
		}
	}
	rel := readRepoFile(t, "docs/reliability.md")
	for _, p := range append(paragraphs(rel, "compose file"), paragraphs(rel, "docker-compose.yml")...) {
		if strings.Contains(p, "R1") && !strings.Contains(p, fmt.Sprintf("R%d", replicas)) {
			t.Errorf("docs/reliability.md calls the compose file R1:\n%s", p)
		}
	}
	prod := paragraphs(rel, "`docker-compose.yml` runs exactly these settings")
	if len(prod) != 1 {
		t.Fatalf("docs/reliability.md: %d paragraphs say which settings `docker-compose.yml` runs, want 1", len(prod))
	}
	for _, want := range []string{fmt.Sprintf("R%d", replicas), fmt.Sprintf("--replicas %d", replicas),
		"sync_interval: always", compose, "127.0.0.1:8080"} {
		if !strings.Contains(prod[0], want) {
			t.Errorf("docs/reliability.md on the compose file lacks %q:\n%s", want, prod[0])
		}
	}
}
