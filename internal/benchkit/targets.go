package benchkit

import (
	"fmt"
	"strconv"
)

// judge fills rep.Targets: each of the targets, what this run
// measured, and whether it holds (judged only on full-size runs).
func judge(rep *Report, quick bool) {
	type t struct {
		key, want string
		v         *float64
		ok        func(float64) bool
	}
	eff := func(c string) *float64 {
		if v, ok := rep.Efficiency[c]; ok {
			return &v
		}
		return nil
	}
	ts := []t{
		{"overhead_ratio", ">= 0.85", &rep.OverheadRatio, func(v float64) bool { return v >= 0.85 }},
		{"efficiency[64]", ">= 0.9", eff("64"), func(v float64) bool { return v >= 0.9 }},
		{"efficiency[256]", ">= 0.8", eff("256"), func(v float64) bool { return v >= 0.8 }},
		{"p95_cycle_ms_1000", "< 1000", &rep.P95CycleMS1000, func(v float64) bool { return v < 1000 }},
		{"watermill_ratio_noop", ">= 2", rep.WatermillRatioNoop, func(v float64) bool { return v >= 2 }},
		{"watermill_ratio_io64", ">= 20", rep.WatermillRatioIO64, func(v float64) bool { return v >= 20 }},
		{"rss_mb_100k", "<= 150", rep.RSSMB100k, func(v float64) bool { return v <= 150 }},
		{"load_vs_render_ratio", "<= 2", rep.LoadVsRenderRatio, func(v float64) bool { return v <= 2 }},
		{"change_p99_ms", "< 50", rep.ChangeP99MS, func(v float64) bool { return v < 50 }},
	}
	rep.Targets = rep.Targets[:0]
	for _, x := range ts {
		tg := Target{Key: x.key, Want: x.want, Got: "null"}
		if x.v != nil {
			tg.Got = strconv.FormatFloat(*x.v, 'f', 3, 64)
			tg.Met, tg.Judged = x.ok(*x.v), !quick
		}
		rep.Targets = append(rep.Targets, tg)
	}
	rep.Targets = append(rep.Targets, rssFlat(rep, quick))
}

// rssFlat: RSS flat after the first cycles (the end within 25% + 10 MB of
// the early figure) and goroutines back to their baseline after the drain.
func rssFlat(rep *Report, quick bool) Target {
	r := rep.Detail.RSS
	tg := Target{Key: "rss_flat_and_goroutines_back", Want: "end <= 1.25 x early + 10 MB, goroutines after <= before",
		Got: "null"}
	if rep.RSSMB100k == nil {
		return tg
	}
	tg.Got = fmt.Sprintf("early %.1f MB, end %.1f MB, goroutines %d -> %d", r.EarlyMB, r.EndMB,
		r.GoroutinesBefore, r.GoroutinesAfter)
	tg.Met = r.EndMB <= 1.25*r.EarlyMB+10 && r.GoroutinesAfter <= r.GoroutinesBefore
	tg.Judged = !quick
	return tg
}

// AllMet reports whether every target was judged and met.
func (r *Report) AllMet() bool {
	for _, t := range r.Targets {
		if !t.Judged || !t.Met {
			return false
		}
	}
	return len(r.Targets) > 0
}
