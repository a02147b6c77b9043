package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
)

// costInactiveThreshold is how long the server keeps the reading consumer
// once regen cost is gone without deleting it.
const costInactiveThreshold = 30 * time.Second

// costSummary is the document `regen cost --json` prints: the sums of
// every cost_report stored in [Since, Until].
type costSummary struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Replicas are the ids of the replicas that reported, sorted.
	Replicas []string `json:"replicas"`
	// Reports is how many cost_report records were summed.
	Reports int `json:"reports"`
	// Undecodable counts the records of the window that were not a
	// cost_report (skipped).
	Undecodable int                        `json:"undecodable,omitempty"`
	Total       wire.CostTotals            `json:"total"`
	ByTemplate  map[string]wire.CostTotals `json:"by_template"`
	BySource    map[string]wire.CostTotals `json:"by_source"`
	ByPriority  map[string]wire.CostTotals `json:"by_priority"`
	ByTarget    map[string]wire.CostTotals `json:"by_target"`
	// Notes say why the sums may be short (a retention shorter than the
	// window).
	Notes []string `json:"notes,omitempty"`
}

func newCostSummary(since, until time.Time) costSummary {
	return costSummary{
		Since: since.UTC(), Until: until.UTC(), Replicas: []string{},
		ByTemplate: map[string]wire.CostTotals{}, BySource: map[string]wire.CostTotals{},
		ByPriority: map[string]wire.CostTotals{}, ByTarget: map[string]wire.CostTotals{},
	}
}

// add sums one replica's report into s.
func (s *costSummary) add(replica string, d wire.CostReportData) {
	s.Reports++
	if !slices.Contains(s.Replicas, replica) {
		s.Replicas = append(s.Replicas, replica)
		slices.Sort(s.Replicas)
	}
	s.Total.Add(d.Total)
	addCosts(s.ByTemplate, d.ByTemplate)
	addCosts(s.BySource, d.BySource)
	addCosts(s.ByPriority, d.ByPriority)
	addCosts(s.ByTarget, d.ByTarget)
}

// addCosts adds each of src's totals to dst's of the same name.
func addCosts(dst, src map[string]wire.CostTotals) {
	for k, v := range src {
		t := dst[k]
		t.Add(v)
		dst[k] = t
	}
}

// readCost sums the cost_report records REGEN_TELEMETRY stored between
// since and until, reading until it is caught up (or ctx is done).
func readCost(ctx context.Context, js jetstream.JetStream, since, until time.Time) (costSummary, error) {
	sum := newCostSummary(since, until)
	st, err := js.Stream(ctx, wire.TelemetryStream)
	if err != nil {
		return sum, fmt.Errorf("read %s (has a replica provisioned it?): %w", wire.TelemetryStream, err)
	}
	sum.Notes = retentionNotes(st.CachedInfo().Config.MaxAge, until.Sub(since))
	cons, err := st.CreateConsumer(ctx, costConsumerConfig(since))
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", wire.TelemetryStream, err)
	}
	defer deleteConsumer(st, cons.CachedInfo().Name)
	if cons.CachedInfo().NumPending == 0 {
		return sum, nil
	}
	return sum, sumReports(ctx, cons, &sum)
}

// costConsumerConfig is an ephemeral consumer of the cost reports stored
// since then, without acks.
func costConsumerConfig(since time.Time) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		FilterSubject: wire.TelemetrySubjectFor(wire.CostReport),
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
		AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: costInactiveThreshold, MemoryStorage: true,
	}
}

// deleteConsumer removes the reading consumer (its inactive threshold
// removes it if this fails).
func deleteConsumer(st jetstream.Stream, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = st.DeleteConsumer(ctx, name)
}

// sumReports adds every message of cons into sum until none is pending or
// one was stored after sum.Until.
func sumReports(ctx context.Context, cons jetstream.Consumer, sum *costSummary) error {
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read %s: %w", wire.TelemetryStream, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return readError(ctx, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", wire.TelemetryStream, err)
		}
		if meta.Timestamp.After(sum.Until) {
			return nil
		}
		sum.addRecord(msg.Data())
		if meta.NumPending == 0 {
			return nil
		}
	}
}

// addRecord decodes one cost_report envelope and adds it, counting one
// that does not decode.
func (s *costSummary) addRecord(data []byte) {
	var ev wire.TelemetryEnvelope[wire.CostReportData]
	if err := json.Unmarshal(data, &ev); err != nil || ev.Type != wire.CostReport {
		s.Undecodable++
		return
	}
	s.add(ev.Replica, ev.Data)
}

func readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("read %s: not caught up before --timeout: %w", wire.TelemetryStream, err)
	}
	return fmt.Errorf("read %s: %w", wire.TelemetryStream, err)
}

// retentionNotes says so when the stream keeps telemetry for less than the
// window.
func retentionNotes(maxAge, window time.Duration) []string {
	if maxAge <= 0 || maxAge >= window {
		return nil
	}
	return []string{fmt.Sprintf("%s keeps telemetry for %s (max_age), less than --since %s: older reports are gone",
		wire.TelemetryStream, maxAge, window)}
}

// sortedByCPU returns the names of m, the costliest CPU first (then by name).
func sortedByCPU(m map[string]wire.CostTotals) []string {
	names := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(names, func(a, b string) int {
		switch ca, cb := m[a].CPUSeconds, m[b].CPUSeconds; {
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
	return names
}
