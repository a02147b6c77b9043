package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheckExitCodes(t *testing.T) {
	t.Parallel()
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"ready":false,"failed":"nats"}`, http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	var out bytes.Buffer
	if err := healthcheckCmd(context.Background(), []string{"--url", ready.URL + "/readyz"}, &out, io.Discard); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if !strings.Contains(out.String(), "200 OK") {
		t.Fatalf("output %q", out.String())
	}
	err := healthcheckCmd(context.Background(), []string{"--url", notReady.URL}, io.Discard, io.Discard)
	if !errors.Is(err, errUnhealthy) || !strings.Contains(err.Error(), "nats") {
		t.Fatalf("not ready: %v", err)
	}
	var errOut bytes.Buffer
	if code := realMain(context.Background(), []string{"healthcheck", "-q", "--url", notReady.URL}, io.Discard, &errOut); code != 1 {
		t.Fatalf("exit code %d, want 1 (%s)", code, errOut.String())
	}
	if code := realMain(context.Background(), []string{"healthcheck", "-q", "--url", ready.URL}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestHealthcheckUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if err := healthcheckCmd(context.Background(), []string{"--url", url}, io.Discard, io.Discard); !errors.Is(err, errUnhealthy) {
		t.Fatalf("err = %v, want errUnhealthy", err)
	}
}
