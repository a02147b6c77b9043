package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/testkit"
)

// runForce runs forceOnLaterSignal with the first signal received at
// first, delivers sig, stops it, and returns the exit codes it asked for.
func runForce(t *testing.T, first time.Time, debounce time.Duration) []int {
	t.Helper()
	sigs, stopped, done := make(chan os.Signal), make(chan struct{}), make(chan struct{})
	var codes []int
	go func() {
		defer close(done)
		forceOnLaterSignal(sigs, stopped, first, debounce, slog.New(slog.NewTextHandler(io.Discard, nil)),
			func(code int) { codes = append(codes, code) })
	}()
	sigs <- syscall.SIGTERM // unbuffered: received once this returns
	close(stopped)
	<-done
	return codes
}

func TestSignalWithinTheDebounceIsIgnored(t *testing.T) {
	t.Parallel()
	if codes := runForce(t, time.Now(), time.Hour); len(codes) != 0 {
		t.Fatalf("a repeat within the debounce exited %v", codes)
	}
}

func TestSignalAfterTheDebounceForcesExit(t *testing.T) {
	t.Parallel()
	if codes := runForce(t, time.Now().Add(-2*time.Second), time.Second); len(codes) != 1 || codes[0] != 130 {
		t.Fatalf("a signal after the debounce: exit codes %v, want [130]", codes)
	}
	if codes := runForce(t, time.Now(), 0); len(codes) != 1 || codes[0] != 130 {
		t.Fatalf("debounce 0: exit codes %v, want [130]", codes)
	}
}

// startHung starts `regen run` with an engine that hangs on every event
// and waits until one event is being processed (regen_in_flight on
// /metrics), so a graceful stop lasts the whole shutdown grace.
func startHung(t *testing.T, extra ...string) *proc {
	t.Helper()
	addr, httpAddr, data, out := testkit.FreeAddr(t), testkit.FreeAddr(t), t.TempDir(), t.TempDir()
	args := append([]string{"--faults", "engine:hang=1", "--event-timeout", "5m", "--call-timeout", "5m",
		"--http", httpAddr}, extra...)
	p := startRegen(t, addr, data, out, args...)
	_, js := testkit.Client(t, p.url)
	publishNodes(t, js, 1)
	testkit.WaitFor(t, 30*time.Second, "an event in flight", func() bool {
		return strings.Contains(get(t, "http://"+httpAddr+"/metrics"), "\nregen_in_flight 1\n")
	})
	return p
}

// get returns the body of url, or "" when it does not answer 200.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(body)
}

// A supervisor that signals the process and its group sends SIGTERM twice
// within microseconds: that is one request, and the stop stays graceful.
func TestTwoQuickSigtermsStayGraceful(t *testing.T) {
	t.Parallel()
	// A debounce far longer than the test, so "quick" cannot be missed on
	// a slow machine; the 2s grace keeps the process stopping meanwhile.
	p := startHung(t, "--shutdown-grace", "2s", "--signal-debounce", "10m")
	p.signal(t, syscall.SIGTERM)
	testkit.WaitFor(t, 30*time.Second, "graceful stop started", func() bool { return p.logged("signal received: stopping") })
	p.signal(t, syscall.SIGTERM)
	testkit.WaitFor(t, 30*time.Second, "the repeat ignored", func() bool { return p.logged("signal ignored") })
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code after two quick SIGTERMs = %d, want 0 (graceful)", code)
	}
}

// A second SIGTERM after the debounce is deliberate: exit at once, 130.
func TestSigtermAfterTheDebounceForcesExit(t *testing.T) {
	t.Parallel()
	// The grace outlasts the test: only the forced exit can end it in time.
	p := startHung(t, "--shutdown-grace", "10m", "--signal-debounce", "200ms")
	p.signal(t, syscall.SIGTERM)
	testkit.WaitFor(t, 30*time.Second, "graceful stop started", func() bool { return p.logged("signal received: stopping") })
	testkit.WaitFor(t, 30*time.Second, "the debounce to pass", func() bool { return p.logged("another signal now exits at once") })
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 130 {
		t.Fatalf("exit code after a deliberate second SIGTERM = %d, want 130", code)
	}
}
