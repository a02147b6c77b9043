//go:build faults

package faultsuite

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// pollEvery is how often waitFor re-checks its condition.
const pollEvery = 100 * time.Millisecond

// waitFor polls cond until it is true or d passes, then fails the test.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("timed out after %s waiting for: %s", d, what)
	}
}

// poll is waitFor without the failure: it reports whether cond came true.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// figure records a measurement in the test log and on stdout, greppable as
// "FIGURE <test>.<name>=<value>".
func figure(t *testing.T, name string, value any) {
	t.Helper()
	if f, ok := value.(float64); ok {
		value = strconv.FormatFloat(f, 'f', 1, 64)
	}
	line := fmt.Sprintf("FIGURE %s.%s=%v", t.Name(), name, value)
	t.Log(line)
	fmt.Println(line)
}

// envInt reads a positive integer from the environment, def otherwise.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// envDuration reads a duration from the environment, def otherwise.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}
