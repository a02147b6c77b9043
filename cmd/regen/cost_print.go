package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// costDimension is one table of regen cost: a title and its rows.
type costDimension struct {
	title string
	rows  map[string]wire.CostTotals
}

func (s costSummary) dimensions() []costDimension {
	return []costDimension{
		{"TEMPLATE", s.ByTemplate}, {"SOURCE", s.BySource},
		{"PRIORITY", s.ByPriority}, {"TARGET", s.ByTarget},
	}
}

// printCost writes the header, the notes, then one table per dimension
// (top rows of each, 0: all).
func printCost(w io.Writer, s costSummary, top int) error {
	if _, err := fmt.Fprintln(w, costHeader(s)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	for _, n := range s.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if s.Reports == 0 {
		_, err := fmt.Fprintf(w, "no cost reports between %s and %s\n", s.Since.Format(time.RFC3339), s.Until.Format(time.RFC3339))
		return err
	}
	for _, d := range s.dimensions() {
		if err := costTable(w, d, s.Total.CPUSeconds, top); err != nil {
			return err
		}
	}
	return nil
}

// costHeader is the window, who reported and the total.
func costHeader(s costSummary) string {
	t := s.Total
	return fmt.Sprintf("cost %s to %s (%s): %d replicas, %d reports; %d events, cpu %.3fs, wall %.3fs, %d bytes rendered, %d bytes out, %d kv ops",
		s.Since.Format(time.RFC3339), s.Until.Format(time.RFC3339), roundDur(s.Until.Sub(s.Since)),
		len(s.Replicas), s.Reports, t.Events, t.CPUSeconds, t.WallSeconds, t.BytesRendered, t.BytesOut, t.KVOps)
}

// costTable writes one dimension's rows, the costliest CPU first, with
// their share of the total CPU.
func costTable(w io.Writer, d costDimension, totalCPU float64, top int) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tEVENTS\tCPU_S\tWALL_S\tBYTES_OUT\tKV_OPS\tCPU%%\n", d.title)
	names := sortedByCPU(d.rows)
	for i, name := range names {
		if top > 0 && i == top {
			fmt.Fprintf(tw, "(%d more)\n", len(names)-top)
			break
		}
		c := d.rows[name]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%d\t%d\t%s\n",
			name, c.Events, c.CPUSeconds, c.WallSeconds, c.BytesOut, c.KVOps, cpuShare(c.CPUSeconds, totalCPU))
	}
	if len(names) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// cpuShare is cpu as a percentage of total, "-" without a total.
func cpuShare(cpu, total float64) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", 100*cpu/total)
}
