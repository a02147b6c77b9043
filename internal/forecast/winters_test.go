package forecast_test

import (
	"math"
	"testing"
	"time"

	"github.com/regen-dev/regen/internal/forecast"
)

// pattern is a season of four steps, summing to zero.
var pattern = []float64{-30, 10, 40, -20}

// seasonal is 100 + slope·t + pattern[t mod 4] at step t.
func seasonal(t int, slope float64) float64 { return 100 + slope*float64(t) + pattern[t%len(pattern)] }

// A linear trend plus a season is followed exactly once two seasons are
// in: every one-step forecast is right, and so are those a season ahead.
func TestHoltWintersExactOnTrendPlusSeason(t *testing.T) {
	t.Parallel()
	h := forecast.NewHoltWinters(forecast.WintersConfig{Season: len(pattern)})
	const n = 40
	for i := range n {
		if i == 2*len(pattern)-1 && h.Ready() {
			t.Fatal("ready before the second season is in")
		}
		h.Observe(t0.Add(time.Duration(i)*time.Minute), seasonal(i, 0.5))
	}
	if !h.Ready() {
		t.Fatal("not ready after 10 seasons")
	}
	for k := 1; k <= len(pattern); k++ {
		near(t, "forecast", h.Forecast(time.Duration(k)*time.Minute), seasonal(n-1+k, 0.5), 1e-9)
	}
	near(t, "trend per second", h.Trend(), 0.5/60, 1e-12)
	near(t, "now, with its season", h.Now(), seasonal(n-1, 0.5), 1e-9)
	if e := h.Error(); e.N != forecast.WindowDefault || e.MAE > 1e-9 {
		t.Fatalf("error = %+v, want exact forecasts", e)
	}
}

// On a seasonal series Holt's linear trend keeps chasing the pattern,
// Holt-Winters learns it: its error is far smaller.
func TestHoltWintersBeatsHoltOnASeason(t *testing.T) {
	t.Parallel()
	hw := forecast.NewHoltWinters(forecast.WintersConfig{Season: len(pattern)})
	h := forecast.NewHolt(forecast.Config{})
	for i := range 60 {
		y := seasonal(i, 0) + 3*math.Sin(float64(i)) // a little noise
		at := t0.Add(time.Duration(i) * time.Minute)
		hw.Observe(at, y)
		h.Observe(at, y)
	}
	if hw.Error().WAPE*3 > h.Error().WAPE {
		t.Fatalf("Holt-Winters WAPE %v, Holt %v: want a third or less", hw.Error().WAPE, h.Error().WAPE)
	}
	t.Logf("WAPE: Holt-Winters %.3f, Holt %.3f", hw.Error().WAPE, h.Error().WAPE)
}

func TestHoltWintersNotReady(t *testing.T) {
	t.Parallel()
	h := forecast.NewHoltWinters(forecast.WintersConfig{Season: 3})
	h.Observe(t0, 5)
	h.Observe(t0, 7) // not after the last: ignored
	if h.Ready() || h.Forecast(time.Minute) != 0 || h.Samples() != 1 || h.Error().N != 0 {
		t.Fatal("a forecaster with one observation forecasts nothing")
	}
}

// Auto forecasts with Holt until the season shows, then with
// Holt-Winters; without a season it is Holt.
func TestAutoSwitchesToTheSeason(t *testing.T) {
	t.Parallel()
	a := forecast.NewAuto(forecast.Config{}, len(pattern))
	plain := forecast.NewAuto(forecast.Config{}, 0)
	var methods []string
	for i := range 40 {
		at := t0.Add(time.Duration(i) * time.Minute)
		a.Observe(at, seasonal(i, 0))
		plain.Observe(at, seasonal(i, 0))
		if m := a.Method(); len(methods) == 0 || methods[len(methods)-1] != m {
			methods = append(methods, m)
		}
	}
	if len(methods) != 2 || methods[0] != forecast.MethodHolt || methods[1] != forecast.MethodHoltWinters {
		t.Fatalf("methods = %v, want holt then holt_winters", methods)
	}
	near(t, "seasonal forecast", a.Forecast(time.Minute), seasonal(40, 0), 1e-6)
	if plain.Method() != forecast.MethodHolt || plain.Error() == a.Error() {
		t.Fatalf("without a season: %s, error %+v", plain.Method(), plain.Error())
	}
}
