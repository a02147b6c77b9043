package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/regen-dev/regen/bus/embedded"
)

// Server is an embedded nats-server with JetStream for one test.
type Server struct {
	*server.Server
	StoreDir string
}

// StartServer starts an embedded JetStream server on a free loopback port
// storing under a fresh t.TempDir(); t.Cleanup shuts it down.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartServerAt(t, t.TempDir(), "127.0.0.1:-1")
}

// StartServerAt starts an embedded server on listen with the given store
// (use the same store to simulate a restart).
func StartServerAt(t testing.TB, storeDir, listen string) *Server {
	t.Helper()
	s, err := embedded.Start(embedded.Config{Listen: listen, StoreDir: storeDir})
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	srv := &Server{Server: s, StoreDir: storeDir}
	t.Cleanup(srv.Stop)
	return srv
}

// Stop shuts the server down and waits; safe to call twice.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}

// Connect returns a client connection and JetStream context to s, closed by
// t.Cleanup.
func Connect(t testing.TB, s *Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Context returns a context cancelled at the end of the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond every few milliseconds until it is true or d passes,
// then fails the test with msg. It is the only way tests wait.
func WaitFor(t testing.TB, d time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", d, msg)
		}
		<-tick.C
	}
}

// KV creates the KV bucket named bucket in js.
func KV(t testing.TB, js jetstream.JetStream, bucket string) jetstream.KeyValue {
	t.Helper()
	kv, err := js.CreateKeyValue(Context(t, 10*time.Second), jetstream.KeyValueConfig{Bucket: bucket})
	if err != nil {
		t.Fatalf("create kv %s: %v", bucket, err)
	}
	return kv
}

// Bundle is one embedded server per test, a JetStream context on it and a
// context that ends with the test (or after a minute).
type Bundle struct {
	JS  jetstream.JetStream
	Ctx context.Context
}

// Setup starts a server for t and connects to it.
func Setup(t testing.TB) *Bundle {
	t.Helper()
	s := StartServer(t)
	_, js := Connect(t, s)
	return &Bundle{JS: js, Ctx: Context(t, 60*time.Second)}
}

// KV creates the KV bucket named bucket.
func (b *Bundle) KV(t testing.TB, bucket string) jetstream.KeyValue {
	t.Helper()
	return KV(t, b.JS, bucket)
}

// StartNATS starts a nats-server with opts (JetStream, auth, limits a test
// needs; Host, Port, StoreDir, logging and signals are set here) and shuts
// it down when t ends.
func StartNATS(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	if opts.JetStream && opts.StoreDir == "" {
		opts.StoreDir = t.TempDir()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return srv
}
