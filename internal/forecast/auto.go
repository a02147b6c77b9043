package forecast

import "time"

// Methods an Auto forecaster reports.
const (
	MethodHolt        = "holt"
	MethodHoltWinters = "holt_winters"
)

// Auto runs Holt's linear trend and, with a season, Holt-Winters beside
// it, and forecasts with Holt-Winters once it is ready, has a full
// window of one-step errors and those are smaller than Holt's: when the
// series shows the seasonal pattern. Not safe for concurrent use.
type Auto struct {
	holt    *Holt
	winters *HoltWinters // nil without a season
	window  int
}

// NewAuto returns an Auto forecaster; season is the observations per
// season (e.g. a day of health intervals), 0 or 1 for none.
func NewAuto(cfg Config, season int) *Auto {
	cfg = cfg.WithDefaults()
	a := &Auto{holt: NewHolt(cfg), window: cfg.Window}
	if season >= 2 {
		a.winters = NewHoltWinters(WintersConfig{Config: cfg, Season: season})
	}
	return a
}

// Observe adds the value y seen at at to both forecasters.
func (a *Auto) Observe(at time.Time, y float64) {
	a.holt.Observe(at, y)
	if a.winters != nil {
		a.winters.Observe(at, y)
	}
}

// seasonal reports whether Holt-Winters forecasts better.
func (a *Auto) seasonal() bool {
	if a.winters == nil || !a.winters.Ready() {
		return false
	}
	we := a.winters.Error()
	return we.N >= a.window && we.MAE < a.holt.Error().MAE
}

// Method names the forecaster in use (MethodHolt, MethodHoltWinters).
func (a *Auto) Method() string {
	if a.seasonal() {
		return MethodHoltWinters
	}
	return MethodHolt
}

// Forecast is the value expected ahead, by the forecaster in use.
func (a *Auto) Forecast(ahead time.Duration) float64 {
	if a.seasonal() {
		return a.winters.Forecast(ahead)
	}
	return a.holt.Forecast(ahead)
}

// Now is the smoothed value now of the forecaster in use: Holt's level,
// or Holt-Winters' level with the season of the last observation.
func (a *Auto) Now() float64 {
	if a.seasonal() {
		return a.winters.Now()
	}
	return a.holt.Level()
}

// Level is the smoothed value of the forecaster in use.
func (a *Auto) Level() float64 {
	if a.seasonal() {
		return a.winters.Level()
	}
	return a.holt.Level()
}

// Trend is the slope per second of the forecaster in use.
func (a *Auto) Trend() float64 {
	if a.seasonal() {
		return a.winters.Trend()
	}
	return a.holt.Trend()
}

// Error is the recent one-step error of the forecaster in use.
func (a *Auto) Error() Error {
	if a.seasonal() {
		return a.winters.Error()
	}
	return a.holt.Error()
}
