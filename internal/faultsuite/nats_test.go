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
	"github.com/regen-dev/regen/internal/testkit"
)

// natsNode is one nats-server process with JetStream; restart keeps its
// port and store.
type natsNode struct {
	name, host      string
	port, routePort int
	store, conf     string
	proc            *process
}

// natsOpts shapes a node's config file.
type natsOpts struct {
	host       string // listen host (127.0.0.1 unless a test needs another)
	syncAlways bool
	routes     []int // cluster route ports of every node (empty: no cluster)
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
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q%s\n}\n", n.store, sync)
	if len(o.routes) > 0 {
		var routes []string
		for _, p := range o.routes {
			routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", p)))
		}
		fmt.Fprintf(&b, "cluster {\n  name: regen-faults\n  listen: \"127.0.0.1:%d\"\n  routes: [%s]\n}\n",
			n.routePort, strings.Join(routes, ", "))
	}
	if err := os.WriteFile(n.conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
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
