//go:build faults

package faultsuite

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// replica is one `regen run --nats-url` process; restart runs it again
// with the same arguments (and replica id).
type replica struct {
	name string
	args []string
	http string // host:port of --http, "" without
	proc *process
}

// replicaOpts shapes a replica's command line.
type replicaOpts struct {
	natsURL string
	root    string // dir deployer root
	http    bool   // serve /readyz and /metrics on a free loopback port
	extra   []string
	prefix  []string // runs the command under another (e.g. ip netns exec)
}

func startReplica(t *testing.T, name string, o replicaOpts) *replica {
	t.Helper()
	r := &replica{name: name}
	r.args = append(append([]string{}, o.prefix...), bins.regen, "run", "--nats-url", o.natsURL,
		"--templates", bins.templates, "--deploy", "dir:"+o.root, "--replica", name,
		"--log-format", "json", "--log-level", "warn", "--fetch-wait", "200ms")
	if o.http {
		r.http = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		r.args = append(r.args, "--http", r.http)
	}
	r.args = append(r.args, o.extra...)
	r.start(t)
	return r
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	r.proc = startProcess(t, r.name, r.args...)
}

// restart kills the replica (if running) and starts it again.
func (r *replica) restart(t *testing.T) {
	t.Helper()
	r.proc.kill()
	r.start(t)
}

// readyz returns the /readyz status code (0 when it does not answer).
func (r *replica) readyz() int {
	resp, err := httpClient.Get("http://" + r.http + "/readyz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitReady waits until /readyz answers 200.
func (r *replica) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	testkit.WaitFor(t, d, r.name+" /readyz 200", func() bool { return r.readyz() == http.StatusOK })
}

// httpClient keeps no idle connections (goleak checks the test process).
var httpClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// metric reads one unlabelled sample from /metrics (-1 when absent).
func (r *replica) metric(name string) float64 {
	resp, err := httpClient.Get("http://" + r.http + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
