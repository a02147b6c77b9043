// Package forecast predicts a rate from its recent history with Holt's
// linear trend (double exponential smoothing), Holt-Winters (with an
// additive season) or Auto (the better of the two), each keeping a
// running measure of how wrong its one-step forecasts were.
//
//	h := forecast.NewHolt(forecast.Config{})
//	for _, r := range readings {
//		h.Observe(r.At, r.Rate)
//	}
//	next := h.Forecast(time.Minute) // level + trend × 60s
//	mae := h.Error().MAE
package forecast
