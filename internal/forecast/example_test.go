package forecast_test

import (
	"fmt"
	"time"

	"github.com/regen-dev/regen/internal/forecast"
)

// A rate ramping by 2 events/s every minute: the forecast follows its
// slope and projects it ahead.
func ExampleHolt() {
	h := forecast.NewHolt(forecast.Config{})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		h.Observe(start.Add(time.Duration(i)*time.Minute), 100+2*float64(i))
	}
	fmt.Printf("level %.0f/s, trend %.3f/s², in 2m %.0f/s, error %.0f over %d forecasts\n",
		h.Level(), h.Trend(), h.Forecast(2*time.Minute), h.Error().MAE, h.Error().N)
	// Output: level 108/s, trend 0.033/s², in 2m 112/s, error 0 over 3 forecasts
}
