package bus_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

// plainServer starts a nats-server without JetStream; token, when set, is
// required of clients.
func plainServer(t *testing.T, token string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		ServerName: "plain-1", Authorization: token})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("plain nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func port(s *server.Server) string { return strconv.Itoa(s.Addr().(*net.TCPAddr).Port) }

func TestDescribeNamesTheServerAndDomain(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	nc, js, err := bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: s.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	info, err := bus.Describe(testkit.Context(t, 10*time.Second), nc, js)
	if err != nil || info.AccountErr != nil {
		t.Fatalf("describe: %v (account: %v)", err, info.AccountErr)
	}
	if info.URL != s.ClientURL() || info.Name != s.Name() || info.Version != server.VERSION {
		t.Fatalf("info = %+v, want %s %s %s", info, s.ClientURL(), s.Name(), server.VERSION)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).LogAttrs(context.Background(), slog.LevelInfo, "connected", info.Attrs()...)
	for _, want := range []string{"server=" + s.ClientURL(), "server_name=" + s.Name(), "server_version=" + server.VERSION,
		"cluster=", "jetstream_domain="} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}

func TestDescribeWithoutJetStreamSaysSo(t *testing.T) {
	t.Parallel()
	s := plainServer(t, "")
	nc, js, err := bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: s.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	_, err = bus.Describe(testkit.Context(t, 10*time.Second), nc, js)
	if !errors.Is(err, bus.ErrJetStreamNotEnabled) || !errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		t.Fatalf("err = %v, want ErrJetStreamNotEnabled", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "JetStream is not enabled on "+s.ClientURL()) || !strings.Contains(msg, "plain-1") ||
		!strings.Contains(msg, "-js") || strings.Contains(msg, "no responders") {
		t.Fatalf("message %q does not say which server lacks JetStream and what to do", msg)
	}
}

func TestTokenInTheURLIsNeverShown(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-token-value"
	s := plainServer(t, token)
	url := "nats://" + token + "@127.0.0.1:" + port(s)
	var logs testkit.Buffer
	nc, js, err := bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: url,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bus.Describe(testkit.Context(t, 10*time.Second), nc, js)
	nc.Close()
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "nats://REDACTED@127.0.0.1:") {
		t.Fatalf("err = %v: want JetStream not enabled on the redacted URL", err)
	}
	_, _, err = bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: "nats://u:" + token + "@127.0.0.1:1"})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("connect error %v shows the password", err)
	}
	_, _, err = bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: "nats://u:" + token + "%zz@127.0.0.1:1"})
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "%zz") {
		t.Fatalf("parse error %v shows the password", err)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatalf("logs show the token:\n%s", logs.String())
	}
}

func TestAsyncErrorsGoToTheLogger(t *testing.T) {
	t.Parallel()
	s := testkit.StartServer(t)
	var logs testkit.Buffer
	nc, _, err := bus.Connect(testkit.Context(t, 10*time.Second), bus.ConnConfig{URLs: s.ClientURL(),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	block := make(chan struct{})
	sub, err := nc.Subscribe("slow", func(*nats.Msg) { <-block })
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(1, -1); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := nc.Publish("slow", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, 10*time.Second, "the slow consumer error in the log", func() bool {
		return strings.Contains(logs.String(), `"msg":"nats async error"`)
	})
	close(block)
	line := logs.String()
	for _, want := range []string{`"component":"nats"`, `"subscription":"slow"`, "slow consumer"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %s", line, want)
		}
	}
}
