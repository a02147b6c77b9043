package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/logging"
	"github.com/regen-dev/regen/internal/observe"
)

// clusterStats is the document `regen stats --json` prints.
type clusterStats struct {
	Replicas []observe.ReplicaStats `json:"replicas"`
	Totals   observe.Totals         `json:"totals"`
	// Levels are the priority levels' consumers (priority_levels only).
	Levels []levelState `json:"levels,omitempty"`
	// Advice is the last cluster scaling advice (absent when none).
	Advice *statsAdvice `json:"advice,omitempty"`
}

// statsCmd prints every live replica's stats and the totals: a table on a
// terminal, one JSON document otherwise (or with --json).
func statsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("regen stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := addConnFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON document {replicas, totals} (the default when stdout is not a terminal)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	consumer := fs.String("consumer", wire.ConsumerDefault, "the base consumer name (consumer.name), for the priority levels")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	nc, js, err := conn.connect(ctx, "regen stats")
	if err != nil {
		return err
	}
	defer nc.Close()
	replicas, err := observe.ListReplicas(ctx, js)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return err
	}
	cs := clusterStats{Replicas: replicas, Totals: observe.Sum(replicas)}
	if cs.Replicas == nil {
		cs.Replicas = []observe.ReplicaStats{}
	}
	if cs.Levels, err = readLevels(ctx, js, *consumer); err != nil {
		return err
	}
	if cs.Advice, err = readAdvice(ctx, js); err != nil {
		return err
	}
	if *asJSON || !logging.IsTerminal(stdout) {
		enc := json.NewEncoder(stdout)
		return enc.Encode(cs)
	}
	if err := statsTable(stdout, cs, time.Now()); err != nil {
		return err
	}
	if err := levelsTable(stdout, cs.Levels); err != nil {
		return err
	}
	return adviceTable(stdout, cs.Advice, time.Now())
}

// statsTable writes one row per replica and a TOTAL row.
func statsTable(w io.Writer, cs clusterStats, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tHOST\tPID\tVERSION\tUPTIME\tSEEN\tCONC\tBATCH\tIN-FLIGHT\tCYCLES\tAVG CYCLE\tEVENTS\tDEPLOYED\tSKIPPED\tFAILED\tDEFERRED\tBREAKERS")
	for _, r := range cs.Replicas {
		s := r.Stats
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s ago\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n",
			r.Replica, r.Host, r.PID, r.Version, roundDur(time.Duration(r.UptimeS*float64(time.Second))),
			roundDur(now.Sub(r.UpdatedAt)), r.Concurrency, r.BatchSize, r.InFlight, s.TotalCycles,
			msDur(s.AvgCycleTimeMS), s.EventsProcessed, s.DeploymentsCompleted, s.Skipped, s.Failures, s.Deferred,
			breakerList(r.Breakers))
	}
	t := cs.Totals
	fmt.Fprintf(tw, "TOTAL (%d)\t\t\t\t\t\t%d\t\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d not closed\n",
		t.Replicas, t.Concurrency, t.InFlight, t.TotalCycles, msDur(t.AvgCycleTimeMS), t.EventsProcessed,
		t.DeploymentsCompleted, t.Skipped, t.Failures, t.Deferred, t.OpenBreakers)
	return tw.Flush()
}

func roundDur(d time.Duration) time.Duration { return max(d, 0).Round(time.Second) }

func msDur(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond).String()
}

// breakerList renders component=state pairs in a stable order.
func breakerList(b map[string]string) string {
	if len(b) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(b))
	for _, k := range slices.Sorted(maps.Keys(b)) {
		parts = append(parts, k+"="+b[k])
	}
	return strings.Join(parts, ",")
}
