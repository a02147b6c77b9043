package orchestrator

import (
	"fmt"
	"testing"
)

// agingCases are the policies under which the aging bound is checked
// through a PrioritySource: strict order (where aging is a lower level's
// only way in) and weights with fetches too small to hold every weight.
var agingCases = []struct {
	cfg   PriorityConfig
	batch int
}{
	{PriorityConfig{Strict: true}, 16},
	{PriorityConfig{Strict: true, AgingCycles: 7}, 64},
	{PriorityConfig{}, len(Levels)},
	{PriorityConfig{AgingCycles: 2}, len(Levels)},
}

// Under saturation of the three higher levels, a PrioritySource hands out
// a low event at least every K (AgingCycles) fetches: a low event at the
// head of its level waits at most K fetches.
func TestPrioritySourceAgingBoundUnderSaturation(t *testing.T) {
	t.Parallel()
	for _, tc := range agingCases {
		t.Run(fmt.Sprintf("%+v/batch=%d", tc.cfg, tc.batch), func(t *testing.T) {
			t.Parallel()
			ps, fl := newLevels(t, tc.cfg)
			for _, l := range fl {
				l.add(1 << 20)
			}
			k := ps.sched.cfg.AgingCycles
			since, worst := 0, 0
			for f := range 2000 {
				since++
				if fetchCounts(t, ps, tc.batch)[3] > 0 {
					worst, since = max(worst, since), 0
				}
				if since > k {
					t.Fatalf("fetch %d: no low event for %d fetches, bound K=%d", f, since, k)
				}
			}
			t.Logf("longest run of fetches up to and including a low event: %d (K=%d)", worst, k)
		})
	}
}

// Low events that arrive while the higher levels are saturated and the
// low level is believed empty (it was empty at its last pull) are found by
// a probe within ProbeEveryDefault fetches, and then handed out at least
// every K fetches.
func TestPrioritySourceAgingBoundAfterEmpty(t *testing.T) {
	t.Parallel()
	for _, tc := range agingCases {
		t.Run(fmt.Sprintf("%+v/batch=%d", tc.cfg, tc.batch), func(t *testing.T) {
			t.Parallel()
			ps, fl := newLevels(t, tc.cfg)
			for _, l := range fl[:3] {
				l.add(1 << 20)
			}
			k := ps.sched.cfg.AgingCycles
			for range 2 * ProbeEveryDefault { // every level pulled at least once: low is known empty
				fetchCounts(t, ps, tc.batch)
			}
			fl[3].add(1000)
			first := 0
			for f := 1; first == 0; f++ {
				if fetchCounts(t, ps, tc.batch)[3] > 0 {
					first = f
				}
				if f > ProbeEveryDefault {
					t.Fatalf("no low event after %d fetches, bound ProbeEvery=%d", f, ProbeEveryDefault)
				}
			}
			since := 0
			for f := range 500 {
				since++
				if fetchCounts(t, ps, tc.batch)[3] > 0 {
					since = 0
				}
				if since > k {
					t.Fatalf("fetch %d after the first low event: none for %d fetches, bound K=%d", f, since, k)
				}
			}
			t.Logf("first low event in fetch %d after it was queued (ProbeEvery=%d, K=%d)", first, ProbeEveryDefault, k)
		})
	}
}
