package forecast

import (
	"cmp"
	"time"
)

// GammaDefault is the default weight of a new observation in its
// season's component.
const GammaDefault = 0.3

// WintersConfig tunes a HoltWinters forecaster: Config's level and trend
// weights, the seasonal weight and the season's length.
type WintersConfig struct {
	Config
	// Gamma in (0, 1] smooths the seasonal components (GammaDefault).
	Gamma float64
	// Season is how many observations one season holds (e.g. a day of
	// health intervals); required, at least 2.
	Season int
}

// HoltWinters is Holt's linear trend with an additive season, over
// observations one step apart (the step is taken from their instants):
//
//	level  = α·(y − season[i]) + (1−α)·(level' + trend')
//	trend  = β·(level − level') + (1−β)·trend'
//	season[i] = γ·(y − level) + (1−γ)·season[i]
//
// with i the observation's place in its season. The first season sets
// and the second set the trend (the difference of their means per step),
// the level, and the seasonal components (each observation's difference
// from its season's mean and the trend, averaged over the two); it
// forecasts from the end of the second season on.
// Not safe for concurrent use.
type HoltWinters struct {
	cfg          WintersConfig
	level, trend float64 // trend per step
	season       []float64
	first        []float64 // the first two seasons, until they are in
	step         time.Duration
	at           time.Time
	n            int
	errs         errorRing
}

// NewHoltWinters returns a seasonal forecaster with no observations.
func NewHoltWinters(cfg WintersConfig) *HoltWinters {
	cfg.Config = cfg.Config.WithDefaults()
	cfg.Gamma = cmp.Or(cfg.Gamma, GammaDefault)
	cfg.Season = max(cfg.Season, 2)
	return &HoltWinters{cfg: cfg, errs: newErrorRing(cfg.Window)}
}

// Observe adds the value y seen at at (ignored unless after the previous).
func (h *HoltWinters) Observe(at time.Time, y float64) {
	if h.n > 0 && !at.After(h.at) {
		return
	}
	if h.n > 0 {
		h.step = at.Sub(h.at)
	}
	h.at = at
	m := h.cfg.Season
	switch {
	case h.n < 2*m-1:
		h.first = append(h.first, y)
	case h.n == 2*m-1:
		h.first = append(h.first, y)
		h.initialise()
	default:
		h.update(y)
	}
	h.n++
}

// initialise sets level, trend and season from the first two seasons.
func (h *HoltWinters) initialise() {
	m := h.cfg.Season
	mean1, mean2 := mean(h.first[:m]), mean(h.first[m:])
	h.trend = (mean2 - mean1) / float64(m)
	h.season = make([]float64, m)
	for i := range m {
		mid := h.trend * (float64(i) - float64(m-1)/2) // the trend's part within a season
		h.season[i] = (h.first[i] - mean1 + h.first[m+i] - mean2 - 2*mid) / 2
	}
	// The level at the last observation of the second season.
	h.level = mean2 + h.trend*float64(m-1)/2
	h.first = nil
}

func (h *HoltWinters) update(y float64) {
	i := h.n % h.cfg.Season
	predicted := h.level + h.trend + h.season[i]
	h.errs.add(y-predicted, y)
	a, b, g := h.cfg.Alpha, h.cfg.Beta, h.cfg.Gamma
	level := a*(y-h.season[i]) + (1-a)*(h.level+h.trend)
	h.trend = b*(level-h.level) + (1-b)*h.trend
	h.season[i] = g*(y-level) + (1-g)*h.season[i]
	h.level = level
}

// Ready reports whether it forecasts yet (two seasons observed).
func (h *HoltWinters) Ready() bool { return h.season != nil }

// Forecast is the value expected ahead after the last observation, in
// whole steps (at least one): level + trend·k + season of that step.
// Zero until Ready.
func (h *HoltWinters) Forecast(ahead time.Duration) float64 {
	if !h.Ready() {
		return 0
	}
	k := 1
	if h.step > 0 {
		k = max(1, int((ahead+h.step/2)/h.step))
	}
	return h.level + h.trend*float64(k) + h.season[(h.n-1+k)%h.cfg.Season]
}

// Level is the deseasonalised value at the last observation.
func (h *HoltWinters) Level() float64 { return h.level }

// Now is the smoothed value at the last observation with its season:
// what the series runs at now (Level until Ready).
func (h *HoltWinters) Now() float64 {
	if !h.Ready() {
		return h.level
	}
	return h.level + h.season[(h.n-1)%h.cfg.Season]
}

// Trend is the slope in units per second (0 before two observations).
func (h *HoltWinters) Trend() float64 {
	if h.step <= 0 {
		return 0
	}
	return h.trend / h.step.Seconds()
}

// Samples counts the observations taken.
func (h *HoltWinters) Samples() int { return h.n }

// Error is the accuracy of the recent one-step forecasts (from the third
// season on).
func (h *HoltWinters) Error() Error { return h.errs.summary() }

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
