//go:build faults

package faultsuite

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// natsNode is one nats-server process with JetStream; restart keeps its
// port and store.
type natsNode struct {
	name, host      string
	port, routePort int
	leafPort        int // leafnode listener (0: none)
	store, conf     string
	proc            *process
}

// natsOpts shapes a node's config file.
type natsOpts struct {
	host       string // listen host (127.0.0.1 unless a test needs another)
	syncAlways bool
	routes     []int  // cluster route ports of every node (empty: no cluster)
	cluster    string // cluster name (regen-faults)
	domain     string // JetStream domain (none)
	// leafRemotes are the leafnode ports of the hub region this node
	// joins, with deny lists (bus.RegionLocalSubjects) both ways.
	leafRemotes []int
}

func newNATSNode(t *testing.T, name string, o natsOpts) *natsNode {
	t.Helper()
	dir := t.TempDir()
	n := &natsNode{name: name, host: cmp.Or(o.host, "127.0.0.1"), port: freePort(t),
		store: filepath.Join(dir, "js"), conf: filepath.Join(dir, name+".conf")}
	return n
}

// writeConf writes the node's config file.
func (n *natsNode) writeConf(t *testing.T, o natsOpts) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %s\nlisten: %q\n", n.name, fmt.Sprintf("%s:%d", n.host, n.port))
	sync := ""
	if o.syncAlways {
		sync = "\n  sync_interval: always"
	}
	if o.domain != "" {
		sync += "\n  domain: " + o.domain
	}
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q%s\n}\n", n.store, sync)
	if len(o.routes) > 0 {
		var routes []string
		for _, p := range o.routes {
			routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", p)))
		}
		fmt.Fprintf(&b, "cluster {\n  name: %s\n  listen: \"127.0.0.1:%d\"\n  routes: [%s]\n}\n",
			cmp.Or(o.cluster, "regen-faults"), n.routePort, strings.Join(routes, ", "))
	}
	b.WriteString(n.leafConf(o))
	if err := os.WriteFile(n.conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// leafConf is the leafnodes block: a listener when the node has a leaf
// port, remotes to the hub's leaf ports.
func (n *natsNode) leafConf(o natsOpts) string {
	if n.leafPort == 0 && len(o.leafRemotes) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("leafnodes {\n")
	if n.leafPort != 0 {
		fmt.Fprintf(&b, "  listen: \"127.0.0.1:%d\"\n", n.leafPort)
	}
	if len(o.leafRemotes) > 0 {
		var urls []string
		for _, p := range o.leafRemotes {
			urls = append(urls, fmt.Sprintf("%q", fmt.Sprintf("nats-leaf://127.0.0.1:%d", p)))
		}
		deny := quoteAll(bus.RegionLocalSubjects)
		fmt.Fprintf(&b, "  reconnect: \"250ms\"\n  remotes: [{\n    urls: [%s]\n    deny_imports: [%s]\n    deny_exports: [%s]\n  }]\n",
			strings.Join(urls, ", "), deny, deny)
	}
	b.WriteString("}\n")
	return b.String()
}

// quoteAll is ss quoted and comma-separated, for a config list.
func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// startNATS starts one standalone JetStream server and waits until it
// answers JetStream requests.
func startNATS(t *testing.T, o natsOpts) *natsNode {
	t.Helper()
	n := newNATSNode(t, "n1", o)
	n.writeConf(t, o)
	n.start(t)
	n.waitJetStream(t, 30*time.Second)
	return n
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://%s:%d", n.host, n.port) }

func (n *natsNode) start(t *testing.T) {
	t.Helper()
	n.proc = startProcess(t, "nats-"+n.name, bins.natsServer, "-c", n.conf)
	testkit.WaitFor(t, 30*time.Second, n.name+" listening", func() bool {
		return listening(fmt.Sprintf("%s:%d", n.host, n.port))
	})
}

// waitJetStream waits until the node answers a JetStream account request.
func (n *natsNode) waitJetStream(t *testing.T, d time.Duration) {
	t.Helper()
	nc, err := nats.Connect(n.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	testkit.WaitFor(t, d, n.name+" JetStream ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
}
