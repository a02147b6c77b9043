package benchkit

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints the figures, their targets and the absolute numbers
// behind them as an aligned plain-text table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tverdict")
	for _, row := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench table: %w", err)
	}
	for _, k := range sortedKeys(r.Errors) {
		fmt.Fprintf(w, "%s is null: %s\n", k, r.Errors[k])
	}
	return nil
}

// rows are the table's lines: figure, value, target, verdict.
func (r *Report) rows() [][4]string {
	d := r.Detail
	rows := [][4]string{r.row("overhead_ratio", f3(r.OverheadRatio), fmt.Sprintf(
		"median of %d pairs: loop %s/s, regen %s/s; regen with unconfirmed acks %s/s",
		len(d.OverheadRatios), f0(median(d.BaselineEventsPerS)), f0(median(d.RegenNoopEventsPerS)),
		f0(d.RegenNoopAsyncAckEventsPerS)))}
	for _, c := range sortedKeys(r.Efficiency) {
		rows = append(rows, r.row("efficiency["+c+"]", f3(r.Efficiency[c]),
			fmt.Sprintf("%s/s over %d events", f0(d.EfficiencyEventsPerS[c]), d.EfficiencyEvents[c])))
	}
	rows = append(rows,
		r.row("p95_cycle_ms_1000", f1(r.P95CycleMS1000), cycleNote(d.Cycles1000)),
		r.row("p95_cycle_ms_10000", f1(r.P95CycleMS10000), cycleNote(d.Cycles10000)),
		r.row("watermill_ratio_noop", fp(r.WatermillRatioNoop), "watermill "+f0(d.WatermillNoopEventsPerS)+"/s"),
		r.row("watermill_ratio_io64", fp(r.WatermillRatioIO64), "watermill "+f0(d.WatermillIOEventsPerS)+"/s"),
		r.row("rss_mb_100k", fp(r.RSSMB100k), fmt.Sprintf("%d events in %.1fs", d.RSS.Events, d.RSS.Seconds)),
		r.row("rss_flat_and_goroutines_back", "", ""),
		r.row("events_per_s_real", f0(r.EventsPerSReal), fmt.Sprintf("%d events, graph engine + dir deployer", d.RealEvents)),
		r.row("load_vs_render_ratio", fp(r.LoadVsRenderRatio), fmt.Sprintf("%d events of %s: drain %.2fs, regen render %.2fs (from the server %.2fs), %d artifacts",
			d.Graph.Events, d.Graph.Vocabulary, d.Graph.DrainSeconds, d.Graph.RenderSeconds, d.Graph.RenderFromServerSeconds, d.Graph.Artifacts)),
		r.row("change_p99_ms", fp(r.ChangeP99MS), fmt.Sprintf("%d domain changes: p50 %.1f ms, class file p99 %.1f ms, renders per change (min, median, max) %v",
			d.Graph.Changes, d.Graph.ChangeP50MS, d.Graph.ClassDeployP99MS, d.Graph.RendersPerChange)),
		r.row("priority_p99_ms_critical_under_load", fp(r.PriorityP99MSCriticalUnderLoad), fmt.Sprintf(
			"%d critical behind %d low, engine +%.0fms, concurrency %d, batch %d: p50 %.1f ms; %d low pending when done",
			d.Priority.CriticalEvents, d.Priority.LowEvents, d.Priority.EngineDelayMS, d.Priority.MaxConcurrent,
			d.Priority.BatchSize, d.Priority.P50MSUnderLoad, d.Priority.LowPendingWhenDone)),
		r.row("priority_p99_ms_critical_idle", fp(r.PriorityP99MSCriticalIdle), fmt.Sprintf(
			"the same critical events, nothing queued: p50 %.1f ms", d.Priority.P50MSIdle)))
	return rows
}

// row is one figure with its target's verdict; note goes after the value.
func (r *Report) row(key, value, note string) [4]string {
	target, verdict := "-", ""
	for _, t := range r.Targets {
		if t.Key != key {
			continue
		}
		target, verdict = t.Want, verdictOf(t)
		if value == "" {
			value = t.Got
		}
	}
	if note != "" {
		value += "  (" + note + ")"
	}
	return [4]string{key, value, target, verdict}
}

func verdictOf(t Target) string {
	switch {
	case !t.Judged:
		return "not judged"
	case t.Met:
		return "met"
	}
	return "MISSED"
}

func cycleNote(c CycleStats) string {
	return fmt.Sprintf("%d cycles of %d, p50 %.1fms, max %.1fms", c.Cycles, c.EventsEach, c.P50MS, c.MaxMS)
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func fp(v *float64) string {
	if v == nil {
		return "null"
	}
	return f3(*v)
}

// sortedKeys sorts numerically where keys are numbers ("8" before "64").
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, aerr := strconv.Atoi(keys[i])
		b, berr := strconv.Atoi(keys[j])
		if aerr == nil && berr == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}
