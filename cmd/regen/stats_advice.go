package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/lease"
)

// statsAdvice is the cluster scaling advice in `regen stats`: the last
// scaling_advice of scope cluster stored in REGEN_TELEMETRY (only the
// lease holder publishes one; the other replicas publish none), and who
// holds the lease now.
type statsAdvice struct {
	// At is when it was published, Replica by whom (the leader then).
	At      time.Time `json:"at"`
	Replica string    `json:"replica"`
	// Leader holds the leadership lease now ("" none).
	Leader string `json:"leader"`
	wire.ScalingAdviceData
}

// readAdvice reads the last cluster scaling advice (nil when there is
// none, or the last advice is not of scope cluster).
func readAdvice(ctx context.Context, js jetstream.JetStream) (*statsAdvice, error) {
	st, err := js.Stream(ctx, wire.TelemetryStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry stream: %w", err)
	}
	msg, err := st.GetLastMsgForSubject(ctx, wire.TelemetrySubjectFor(wire.ScalingAdvice))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last scaling advice: %w", err)
	}
	var ev wire.TelemetryEnvelope[wire.ScalingAdviceData]
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		return nil, fmt.Errorf("last scaling advice: %w", err)
	}
	if ev.Data.Scope != wire.AdviceScopeCluster {
		return nil, nil
	}
	a := &statsAdvice{At: ev.Timestamp, Replica: ev.Replica, ScalingAdviceData: ev.Data}
	a.Leader, err = leaseHolder(ctx, js)
	return a, err
}

// leaseHolder is who holds the leadership lease ("" nobody, or no bucket).
func leaseHolder(ctx context.Context, js jetstream.JetStream) (string, error) {
	kv, err := js.KeyValue(ctx, wire.LeaderBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("leader bucket: %w", err)
	}
	return lease.CurrentHolder(ctx, kv, lease.KeyDefault)
}

// adviceTable writes the cluster advice: a summary, its forecast, and one
// row per level. Nothing without an advice.
func adviceTable(w io.Writer, a *statsAdvice, now time.Time) error {
	if a == nil {
		return nil
	}
	adviceSummary(w, a, now)
	return adviceLevels(w, a.Levels)
}

// adviceSummary writes the advice's recommendation, drain and forecast.
func adviceSummary(w io.Writer, a *statsAdvice, now time.Time) {
	fmt.Fprintf(w, "\nCLUSTER ADVICE (by %s, %s ago; leader now: %s)\n", a.Replica, roundDur(now.Sub(a.At)),
		orDash(a.Leader))
	fmt.Fprintf(w, "  replicas: %d recommended, %d live (%s)\n", a.RecommendedReplicas, a.CurrentReplicasEstimate, a.Reason)
	if a.Bound != "" {
		fmt.Fprintf(w, "  bound: %s (%s)\n", a.Bound, a.BoundReason)
	}
	fmt.Fprintf(w, "  drain: %.1f/s per replica, %.1f/s together; pending %d, predicted drain %s\n",
		a.DrainRate, a.ClusterDrainRate, a.Pending, drainText(a.PredictedDrainS))
	if f := a.Forecast; f != nil {
		fmt.Fprintf(w, "  arrivals: %.1f/s measured, %.1f/s smoothed, trend %+.3f/s²; forecast (%s) %.1f/s in %s\n",
			a.ArrivalRate, f.Level, f.Trend, f.Method, f.ArrivalRate, secondsText(f.HorizonS))
		fmt.Fprintf(w, "  forecast error: %.1f/s mean absolute (%.0f%%) over %d forecasts\n",
			f.Error, 100*f.ErrorRatio, f.ErrorSamples)
	}
}

// adviceLevels writes one row per level of the advice.
func adviceLevels(w io.Writer, levels []wire.LevelAdvice) error {
	if len(levels) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  LEVEL\tPENDING\tARRIVAL/S\tFORECAST/S\tPREDICTED DRAIN")
	for _, l := range levels {
		fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%s\n", orDash(string(l.Priority)), l.Pending, l.ArrivalRate,
			l.ForecastRate, drainText(l.PredictedDrainS))
	}
	return tw.Flush()
}

// drainText is a predicted drain time, or "never" (null: it grows).
func drainText(s *float64) string {
	if s == nil {
		return "never (growing)"
	}
	return secondsText(*s)
}

// secondsText is s seconds as a duration, to a tenth of a second.
func secondsText(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
