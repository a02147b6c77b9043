package forecast_test

import (
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/forecast"
)

var t0 = time.Unix(1_000_000, 0)

// feed observes ys one interval apart from t0 and returns the forecaster.
func feed(cfg forecast.Config, interval time.Duration, ys ...float64) *forecast.Holt {
	h := forecast.NewHolt(cfg)
	for i, y := range ys {
		h.Observe(t0.Add(time.Duration(i)*interval), y)
	}
	return h
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Fatalf("%s = %v, want %v ± %v", name, got, want, tol)
	}
}

func TestHoltConstant(t *testing.T) {
	t.Parallel()
	h := feed(forecast.Config{}, time.Second, 7, 7, 7, 7, 7)
	near(t, "level", h.Level(), 7, 0)
	near(t, "trend", h.Trend(), 0, 0)
	near(t, "forecast 1m", h.Forecast(time.Minute), 7, 0)
	if e := h.Error(); e.N != 3 || e.MAE != 0 || e.WAPE != 0 {
		t.Fatalf("error = %+v, want 3 exact forecasts", e)
	}
}

// A linear ramp is followed exactly from the second observation on: the
// trend is its slope per second, whatever the interval, and every
// forecast is exact.
func TestHoltLinearRampExactSlope(t *testing.T) {
	t.Parallel()
	var ys []float64
	for i := range 20 {
		ys = append(ys, 5+2*float64(i)) // +2 per 10s step: 0.2/s
	}
	h := feed(forecast.Config{Alpha: 0.3, Beta: 0.1}, 10*time.Second, ys...)
	near(t, "trend", h.Trend(), 0.2, 1e-12)
	near(t, "level", h.Level(), 43, 1e-9)
	near(t, "forecast 50s", h.Forecast(50*time.Second), 53, 1e-9)
	if e := h.Error(); e.N != forecast.WindowDefault || e.MAE > 1e-9 {
		t.Fatalf("error = %+v, want %d exact forecasts", e, forecast.WindowDefault)
	}
}

// A step from 10 to 20, by hand with α = 0.5, β = 0.3, dt = 1:
//
//	obs 20: forecast 10, error 10;  level 15,    trend 0.3·5 = 1.5
//	obs 20: forecast 16.5, err 3.5; level 18.25, trend 0.3·3.25 + 0.7·1.5 = 2.025
func TestHoltStep(t *testing.T) {
	t.Parallel()
	h := feed(forecast.Config{Alpha: 0.5, Beta: 0.3}, time.Second, 10, 10, 10, 20, 20)
	near(t, "level", h.Level(), 18.25, 1e-12)
	near(t, "trend", h.Trend(), 2.025, 1e-12)
	near(t, "forecast 1s", h.Forecast(time.Second), 20.275, 1e-12)
	e := h.Error()
	if e.N != 3 {
		t.Fatalf("errors = %d, want 3", e.N)
	}
	near(t, "MAE", e.MAE, (0+10+3.5)/3, 1e-12)
	near(t, "WAPE", e.WAPE, 13.5/50, 1e-12)
	// Once the new rate holds, the forecast settles on it.
	for i := 5; i < 40; i++ {
		h.Observe(t0.Add(time.Duration(i)*time.Second), 20)
	}
	near(t, "settled forecast", h.Forecast(time.Second), 20, 0.01)
}

// Noise around a constant does not invent a trend.
func TestHoltNoise(t *testing.T) {
	t.Parallel()
	var ys []float64
	for i := range 60 {
		ys = append(ys, 100+5*float64(1-2*(i%2))) // 105, 95, 105, ...
	}
	h := feed(forecast.Config{}, time.Second, ys...)
	near(t, "forecast", h.Forecast(time.Second), 100, 5)
	near(t, "trend", h.Trend(), 0, 1)
	if e := h.Error(); e.WAPE > 0.15 {
		t.Fatalf("WAPE = %v on ±5%% noise, want ≤ 0.15", e.WAPE)
	}
}

// Irregular intervals: the trend is per second, so a ramp sampled at
// uneven instants still gives its slope.
func TestHoltIrregularIntervals(t *testing.T) {
	t.Parallel()
	h := forecast.NewHolt(forecast.Config{})
	for _, s := range []float64{0, 1, 3, 4, 9, 10, 15} {
		h.Observe(t0.Add(time.Duration(s*float64(time.Second))), 3*s)
	}
	near(t, "trend", h.Trend(), 3, 1e-9)
	near(t, "forecast", h.Forecast(5*time.Second), 60, 1e-9)
	h.Observe(t0.Add(15*time.Second), 1000) // not after the last: ignored
	near(t, "level", h.Level(), 45, 1e-9)
}

func TestHoltEmpty(t *testing.T) {
	t.Parallel()
	h := forecast.NewHolt(forecast.Config{})
	if h.Forecast(time.Minute) != 0 || h.Samples() != 0 || h.Error() != (forecast.Error{}) {
		t.Fatal("an empty forecaster forecasts 0 with no error")
	}
}
