//go:build faults

package faultsuite

import (
	"strconv"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"
)

// backpressureMaxAckPending is below what two replicas would fetch
// (2 replicas x MaxBatchesHeld x batch, with 64 workers each), so the
// server's limit is what holds them back.
const backpressureMaxAckPending = 128

// TestBackpressure: a burst far larger than anything in flight, with a
// slow engine (5ms per event). Memory stays bounded, no level consumer's
// NumAckPending ever exceeds its MaxAckPending, nothing is dropped, and no AckWait expires
// (NumRedelivered stays 0).
func TestBackpressure(t *testing.T) {
	n := envInt(t, "FAULT_BURST", 50000)
	figure(t, "events", n)
	srv := startNATS(t, natsOpts{})
	root := t.TempDir()
	extra := []string{"--faults", "engine:delay=5ms", "--max-concurrent", "64", "--batch-size", "32",
		"--max-ack-pending", strconv.Itoa(backpressureMaxAckPending), "--tune-max", "64"}
	reps := []*replica{
		startReplica(t, "bp-r1", replicaOpts{natsURL: srv.url(), root: root, extra: extra}),
		startReplica(t, "bp-r2", replicaOpts{natsURL: srv.url(), root: root, extra: extra}),
	}
	js := connect(t, srv.url())
	waitProvisioned(t, js)
	start := time.Now()
	ctx, cancel := ctxFor(5 * time.Minute)
	defer cancel()
	if err := publishRange(ctx, js, 0, n); err != nil {
		t.Fatal(err)
	}
	figure(t, "publish_per_second", rate(n, time.Since(start)))
	s := sampleUntilDrained(t, js, reps, 10*time.Minute)
	elapsed := time.Since(start)
	waitAllDeployed(t, js, root, n, time.Minute)
	figure(t, "events_per_second", rate(n, elapsed))
	figure(t, "peak_rss_mb", float64(s.peakRSS)/1024)
	figure(t, "peak_ack_pending", s.peakAckPending)
	figure(t, "max_ack_pending", s.maxAckPending)
	figure(t, "redelivered", s.redelivered)
	cycles, events := cycleSizes(t, js)
	figure(t, "cycles", cycles)
	figure(t, "mean_events_per_cycle", float64(events)/float64(max(cycles, 1)))
	if s.peakAckPending > s.maxAckPending {
		t.Errorf("NumAckPending reached %d, above MaxAckPending %d", s.peakAckPending, s.maxAckPending)
	}
	if s.redelivered != 0 {
		t.Errorf("%d messages were redelivered (AckWait expiries)", s.redelivered)
	}
	if s.peakRSS > 256<<10 {
		t.Errorf("peak RSS %d MiB: not bounded", s.peakRSS>>10)
	}
	checkNoDuplicates(t, js, n)
	checkDLQEmpty(t, js)
}

// bpSamples is what sampleUntilDrained saw.
type bpSamples struct {
	peakRSS                       int64 // KiB, over the replicas
	peakAckPending, maxAckPending int
	redelivered                   int
}

// sampleUntilDrained samples replica RSS and the consumer every 100ms
// until the stream is drained.
func sampleUntilDrained(t *testing.T, js jetstream.JetStream, reps []*replica, d time.Duration) bpSamples {
	t.Helper()
	var s bpSamples
	testkit.WaitFor(t, d, "the burst drained", func() bool {
		for _, r := range reps {
			s.peakRSS = max(s.peakRSS, rssKB(r.proc.pid()))
		}
		infos := levelInfos(js)
		if infos == nil {
			return false
		}
		done := true
		for _, ci := range infos { // MaxAckPending caps each level
			s.peakAckPending = max(s.peakAckPending, ci.NumAckPending)
			s.maxAckPending, s.redelivered = ci.Config.MaxAckPending, max(s.redelivered, ci.NumRedelivered)
			done = done && ci.NumPending == 0 && ci.NumAckPending == 0
		}
		return done
	})
	return s
}

// cycleSizes counts the cycles in the regeneration_completed telemetry and
// the events they took.
func cycleSizes(t *testing.T, js jetstream.JetStream) (cycles, events int) {
	t.Helper()
	err := readTelemetry(js, wire.RegenerationCompleted, func(ev wire.TelemetryRecord) {
		if n, ok := ev.Data["events"].(float64); ok {
			cycles++
			events += int(n)
		}
	})
	if err != nil {
		t.Fatalf("read telemetry: %v", err)
	}
	return cycles, events
}
