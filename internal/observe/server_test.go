package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regen-dev/regen/internal/observe"
)

// startServer starts a Server on a free loopback port; t.Cleanup shuts it down.
func startServer(t *testing.T, cfg observe.ServerConfig) (*observe.Server, string) {
	t.Helper()
	cfg.Addr, cfg.Logger = "127.0.0.1:0", discard
	s := observe.NewServer(cfg)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, "http://" + s.Addr()
}

func readiness(t *testing.T, body string) observe.Readiness {
	t.Helper()
	var r observe.Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	return r
}

func TestReadyzNamesTheFailingCheck(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	_, url := startServer(t, observe.ServerConfig{Checks: []observe.Check{
		{Name: "nats", Fn: func(context.Context) error {
			if down.Load() {
				return errors.New("nats connection is RECONNECTING")
			}
			return nil
		}},
		{Name: "consumer", Fn: func(context.Context) error { return nil }},
	}})
	code, body := get(t, url+"/readyz")
	if r := readiness(t, body); code != http.StatusOK || !r.Ready || len(r.Checks) != 3 {
		t.Fatalf("ready: %d %s", code, body)
	}
	down.Store(true)
	code, body = get(t, url+"/readyz")
	r := readiness(t, body)
	if code != http.StatusServiceUnavailable || r.Ready || r.Failed != "nats" || !strings.Contains(body, "RECONNECTING") {
		t.Fatalf("not ready: %d %s", code, body)
	}
	if len(r.Checks) != 2 {
		t.Fatalf("checks after the failing one ran: %s", body)
	}
}

func TestReadyzIs503WhileDrainingAndHealthzStays200(t *testing.T) {
	t.Parallel()
	s, url := startServer(t, observe.ServerConfig{})
	if code, _ := get(t, url+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz = %d before draining", code)
	}
	s.Drain()
	code, body := get(t, url+"/readyz")
	if r := readiness(t, body); code != http.StatusServiceUnavailable || r.Failed != "draining" {
		t.Fatalf("readyz while draining = %d %s", code, body)
	}
	if code, body := get(t, url+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Fatalf("healthz = %d %q", code, body)
	}
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	_, off := startServer(t, observe.ServerConfig{})
	if code, _ := get(t, off+"/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("pprof without Pprof = %d, want 404", code)
	}
	_, on := startServer(t, observe.ServerConfig{Pprof: true})
	if code, body := get(t, on+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof with Pprof = %d", code)
	}
	if code, _ := get(t, on+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics without a handler = %d, want 404", code)
	}
}

func TestShutdownIsSafeTwiceAndBeforeStart(t *testing.T) {
	t.Parallel()
	if err := observe.NewServer(observe.ServerConfig{Addr: "127.0.0.1:0"}).Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := startServer(t, observe.ServerConfig{})
	for range 2 {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStartReportsListenErrors(t *testing.T) {
	t.Parallel()
	s, _ := startServer(t, observe.ServerConfig{})
	if err := observe.NewServer(observe.ServerConfig{Addr: s.Addr()}).Start(); err == nil {
		t.Fatal("second server on the same address started")
	}
}

// A Console handler takes every path but the probes and /metrics.
func TestConsoleServesEveryOtherPath(t *testing.T) {
	t.Parallel()
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("console")) })
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) })
	_, url := startServer(t, observe.ServerConfig{Console: console, Metrics: metrics})
	for path, want := range map[string]string{"/": "console", "/api/snapshot": "console", "/metrics": "metrics"} {
		if code, body := get(t, url+path); code != http.StatusOK || body != want {
			t.Errorf("GET %s: %d %q, want %q", path, code, body, want)
		}
	}
	if code, body := get(t, url+"/healthz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Errorf("GET /healthz: %d %s", code, body)
	}
}
