package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// regen console serves the console of the deployment at --nats-url on
// --http, prints its URL with a generated token when the address is not
// loopback, and stops cleanly on cancel.
func TestConsoleServesTheDeployment(t *testing.T) {
	t.Parallel()
	srv := provisionedServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut testkit.Buffer
	done := make(chan error, 1)
	go func() {
		done <- consoleCmd(ctx, []string{"--nats-url", srv.ClientURL(), "--http", "0.0.0.0:0", "--log-level", "warn"},
			&out, &errOut)
	}()
	testkit.WaitFor(t, 20*time.Second, "the console URL printed", func() bool { return strings.Contains(out.String(), "#token=") })
	url, fragment, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(out.String()), "console: "), "#token=")
	if len(fragment) != 48 || !strings.HasPrefix(url, "http://localhost:") {
		t.Fatalf("printed %q: want http://localhost:PORT/#token=(48 hex)", out.String())
	}
	resp, err := http.Get(url + "api/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		TokenRequired bool `json:"token_required"`
	}
	err = json.NewDecoder(resp.Body).Decode(&snap)
	_ = resp.Body.Close()
	if err != nil || !snap.TokenRequired {
		t.Fatalf("snapshot: %+v %v: want the token required", snap, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("regen console: %v\n%s", err, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("regen console did not stop")
	}
	if strings.Contains(errOut.String(), fragment) {
		t.Fatal("the token was logged")
	}
}

func TestConsoleRefusesArguments(t *testing.T) {
	t.Parallel()
	if err := consoleCmd(context.Background(), []string{"extra"}, io.Discard, io.Discard); !errors.Is(err, errConfig) {
		t.Fatalf("err = %v, want errConfig", err)
	}
	if err := consoleCmd(context.Background(), []string{"--nope"}, io.Discard, io.Discard); err == nil || errors.Is(err, flag.ErrHelp) {
		t.Fatalf("unknown flag: err = %v", err)
	}
}
