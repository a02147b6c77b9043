package forecast

import (
	"cmp"
	"math"
	"time"
)

// Defaults of Config.
const (
	AlphaDefault  = 0.5 // weight of a new observation in the level
	BetaDefault   = 0.3 // weight of a new slope in the trend
	WindowDefault = 10  // one-step errors kept for Error
)

// Config tunes a Holt forecaster. The zero value works: each zero field
// takes its default.
type Config struct {
	// Alpha in (0, 1] smooths the level (AlphaDefault).
	Alpha float64
	// Beta in (0, 1] smooths the trend (BetaDefault).
	Beta float64
	// Window is how many recent one-step errors Error averages (WindowDefault).
	Window int
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.Alpha = cmp.Or(c.Alpha, AlphaDefault)
	c.Beta = cmp.Or(c.Beta, BetaDefault)
	c.Window = cmp.Or(c.Window, WindowDefault)
	return c
}

// Holt is Holt's linear trend over observations at arbitrary instants:
// with dt the seconds since the previous observation y',
//
//	level = α·y + (1−α)·(level' + trend'·dt)
//	trend = β·(level − level')/dt + (1−β)·trend'
//
// The first observation sets the level, the second the trend (their
// slope), so a linear series is followed exactly from the second on.
// trend is in units per second. Not safe for concurrent use.
type Holt struct {
	cfg          Config
	level, trend float64
	at           time.Time
	n            int
	errs         errorRing
}

// NewHolt returns a forecaster with no observations.
func NewHolt(cfg Config) *Holt {
	cfg = cfg.WithDefaults()
	return &Holt{cfg: cfg, errs: newErrorRing(cfg.Window)}
}

// Observe adds the value y seen at at. An observation not after the
// previous one replaces nothing and is ignored.
func (h *Holt) Observe(at time.Time, y float64) {
	switch {
	case h.n == 0:
		h.level = y
	case !at.After(h.at):
		return
	case h.n == 1:
		h.trend = (y - h.level) / at.Sub(h.at).Seconds()
		h.level = y
	default:
		dt := at.Sub(h.at).Seconds()
		predicted := h.level + h.trend*dt
		h.errs.add(y-predicted, y)
		level := h.cfg.Alpha*y + (1-h.cfg.Alpha)*predicted
		h.trend = h.cfg.Beta*(level-h.level)/dt + (1-h.cfg.Beta)*h.trend
		h.level = level
	}
	h.at = at
	h.n++
}

// Forecast is the value expected ahead after the last observation:
// level + trend × ahead. Zero before the first observation.
func (h *Holt) Forecast(ahead time.Duration) float64 {
	return h.level + h.trend*ahead.Seconds()
}

// Level is the smoothed value at the last observation.
func (h *Holt) Level() float64 { return h.level }

// Trend is the smoothed slope, in units per second.
func (h *Holt) Trend() float64 { return h.trend }

// Samples counts the observations taken.
func (h *Holt) Samples() int { return h.n }

// Error is the accuracy of the recent one-step forecasts.
func (h *Holt) Error() Error { return h.errs.summary() }

// Error summarises the last Window one-step forecast errors (each the
// observation minus what was forecast for it from the one before; the
// first forecast is the third observation's, once there is a trend).
type Error struct {
	// N counts the errors summarised (0 before the third observation).
	N int
	// MAE is their mean absolute error, in the series' unit.
	MAE float64
	// WAPE is Σ|error| / Σ|observation| (0 when every observation is 0):
	// the relative error, robust to observations near zero.
	WAPE float64
}

// errorRing keeps the last len(errs) errors and observations.
type errorRing struct {
	errs, obs []float64
	next, n   int
}

func newErrorRing(size int) errorRing {
	size = max(size, 1)
	return errorRing{errs: make([]float64, size), obs: make([]float64, size)}
}

func (r *errorRing) add(err, obs float64) {
	r.errs[r.next], r.obs[r.next] = math.Abs(err), math.Abs(obs)
	r.next = (r.next + 1) % len(r.errs)
	r.n = min(r.n+1, len(r.errs))
}

func (r *errorRing) summary() Error {
	if r.n == 0 {
		return Error{}
	}
	var sumErr, sumObs float64
	for i := range r.n {
		sumErr += r.errs[i]
		sumObs += r.obs[i]
	}
	e := Error{N: r.n, MAE: sumErr / float64(r.n)}
	if sumObs > 0 {
		e.WAPE = sumErr / sumObs
	}
	return e
}
