//go:build faults

package faultsuite

import (
	"fmt"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// soakSample is one reading of the replica's resources.
type soakSample struct {
	at         time.Duration
	rssKB      int64
	goroutines float64
}

// TestSoak: a steady publish rate for SOAK (60s) with 5% engine errors and
// 1% hangs that only the 500ms event timeout ends. Nothing is lost, and
// RSS and goroutine counts stay stable (the final reading within bounds of
// the reading after warm-up).
func TestSoak(t *testing.T) {
	d := envDuration(t, "SOAK", time.Minute)
	perSec := envInt(t, "FAULT_SOAK_RATE", 100)
	srv := startNATS(t, natsOpts{})
	root := t.TempDir()
	rep := startReplica(t, "soak-r1", replicaOpts{natsURL: srv.url(), root: root, http: true,
		extra: []string{"--faults", "engine:error=0.05,hang=0.01", "--event-timeout", "500ms",
			"--nak-delay", "200ms", "--nak-delay-max", "2s"}})
	js := connect(t, srv.url())
	waitProvisioned(t, js)
	rep.waitReady(t, 30*time.Second)
	n, samples := soakPublish(t, js, rep, d, perSec)
	figure(t, "events", n)
	waitAllDeployed(t, js, root, n, 2*time.Minute)
	checkStable(t, samples, d)
	failed := countTelemetry(t, js, wire.RegenerationFailed)
	figure(t, "failed_deliveries", failed)
	if failed == 0 {
		t.Error("no regeneration_failed telemetry: the faults were not injected")
	}
	checkNoDuplicates(t, js, n)
	checkDLQEmpty(t, js)
}

// soakPublish publishes perSec events a second (in tenths) for d and
// samples the replica every 5s; it returns how many it published.
func soakPublish(t *testing.T, js jetstream.JetStream, rep *replica, d time.Duration, perSec int) (int, []soakSample) {
	t.Helper()
	pub, sample := time.NewTicker(100*time.Millisecond), time.NewTicker(5*time.Second)
	defer pub.Stop()
	defer sample.Stop()
	start, n := time.Now(), 0
	var samples []soakSample
	for time.Since(start) < d {
		select {
		case <-pub.C:
			ctx, cancel := ctxFor(30 * time.Second)
			err := publishRange(ctx, js, n, n+perSec/10)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			n += perSec / 10
		case <-sample.C:
			s := soakSample{at: time.Since(start).Round(time.Second), rssKB: rssKB(rep.proc.pid()),
				goroutines: rep.metric("go_goroutines")}
			samples = append(samples, s)
			figure(t, fmt.Sprintf("sample_%04ds", int(s.at.Seconds())),
				fmt.Sprintf("rss_mb=%.1f goroutines=%.0f published=%d", float64(s.rssKB)/1024, s.goroutines, n))
		}
	}
	return n, samples
}

// checkStable compares the last sample with the first one after warm-up
// (a fifth of the run, at least 10s): goroutines may grow by 20 + 10%,
// RSS by 50% + 16 MiB.
func checkStable(t *testing.T, samples []soakSample, d time.Duration) {
	t.Helper()
	warmAt := max(10*time.Second, d/5)
	var warm *soakSample
	for i := range samples {
		if samples[i].at >= warmAt {
			warm = &samples[i]
			break
		}
	}
	if warm == nil || len(samples) < 2 {
		t.Fatalf("too few samples (%d) for a stability check", len(samples))
	}
	last := samples[len(samples)-1]
	figure(t, "goroutines_warm", warm.goroutines)
	figure(t, "goroutines_final", last.goroutines)
	figure(t, "rss_mb_warm", float64(warm.rssKB)/1024)
	figure(t, "rss_mb_final", float64(last.rssKB)/1024)
	if warm.goroutines < 0 || last.goroutines > warm.goroutines*1.1+20 {
		t.Errorf("goroutines grew from %.0f (at %s) to %.0f", warm.goroutines, warm.at, last.goroutines)
	}
	if last.rssKB > warm.rssKB*3/2+16<<10 {
		t.Errorf("RSS grew from %d KiB (at %s) to %d KiB", warm.rssKB, warm.at, last.rssKB)
	}
}
