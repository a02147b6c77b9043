package app

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/internal/testkit"
)

func TestStartLogsTheServerItConnectedTo(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	logs := &testkit.Buffer{}
	svc, err := Start(testkit.Context(t, 30*time.Second), b.cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	line := firstLine(logs.String(), `"msg":"connected to NATS"`)
	if err := svc.Stop(testkit.Context(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"server":"` + b.srv.ClientURL() + `"`, `"server_name":"` + b.srv.Name() + `"`,
		`"server_version":"` + server.VERSION + `"`, `"cluster":""`, `"jetstream_domain":""`} {
		if !strings.Contains(line, want) {
			t.Errorf("connection line %q lacks %s", line, want)
		}
	}
}

func firstLine(logs, substr string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

func TestStartWithoutJetStreamNamesTheServer(t *testing.T) {
	t.Parallel()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, ServerName: "no-js"})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	b := setup(t, nil)
	b.cfg.NATS.URL = s.ClientURL()
	_, err = Start(testkit.Context(t, 30*time.Second), b.cfg, slog.New(slog.DiscardHandler))
	if !errors.Is(err, bus.ErrJetStreamNotEnabled) || !strings.Contains(err.Error(), "JetStream is not enabled on "+s.ClientURL()) ||
		strings.Contains(err.Error(), "no responders") {
		t.Fatalf("start on a server without JetStream: %v", err)
	}
}
