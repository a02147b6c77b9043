//go:build faults

package faultsuite

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// pollEvery is how often poll re-checks its condition.
const pollEvery = 100 * time.Millisecond

// poll is testkit.WaitFor without the failure: it reports whether cond
// came true within d.
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
