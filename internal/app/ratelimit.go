package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/ratelimit"
	"github.com/regen-dev/regen/orchestrator"
)

// rateLimits builds the replica's limiters from rate_limits (checked at
// load): each event that meets one is counted in regen_rate_limited_total
// and published as rate_limited. Its share of each rate follows the live
// replica count the registry reports (startObserve).
func (s *Service) rateLimits() (*ratelimit.Set, error) {
	limits, err := s.cfg.Limits()
	if err != nil {
		return nil, err
	}
	return ratelimit.New(limits, ratelimit.Options{OnLimited: s.rateLimited}), nil
}

// rateLimited reports an event that met a limit.
func (s *Service) rateLimited(ev ratelimit.Event) {
	s.metrics.RateLimited(ev.Limit)
	err := s.tel.Publish(wire.TelemetryEvent{Type: wire.RateLimited, Component: "ratelimit",
		Replica: s.cfg.Orchestrator.Replica, Data: rateLimitedData(ev)})
	if err != nil {
		s.log.Warn("rate limit telemetry", slog.String("event_id", ev.EventID),
			slog.String("execution_id", ev.ExecutionID), slog.String("limit", ev.Limit), slog.Any("error", err))
	}
}

// rateLimitedData is the rate_limited data of ev.
func rateLimitedData(ev ratelimit.Event) wire.RateLimitedData {
	action := "wait"
	if ev.Nak {
		action = "nak"
	}
	return wire.RateLimitedData{Action: action, DelayMS: float64(ev.Delay) / float64(time.Millisecond),
		EventID: ev.EventID, ExecutionID: ev.ExecutionID, Limit: ev.Limit}
}

// onReplicas re-balances the limits' shares (nil without a limit).
func (s *Service) onReplicas() func(int) {
	if s.limits.Empty() {
		return nil
	}
	return s.limits.SetReplicas
}

// limitTarget paces the deployer of target t by its target: limit, if any.
func (s *Service) limitTarget(d orchestrator.Deployer, t config.Target) orchestrator.Deployer {
	key := ratelimit.TargetPrefix + t.Kind + ":" + t.Arg
	if !s.limits.Has(key) {
		return d
	}
	return limitedDeployer{d: d, set: s.limits, key: key, fallback: s.cfg.Orchestrator.EventTimeout / 2}
}

// limitedDeployer takes a token of key before each deploy: it waits within
// half the call's time left, or returns the *wire.RateLimitedError the
// orchestrator naks as a deferral (the breaker does not count it).
type limitedDeployer struct {
	d        orchestrator.Deployer
	set      *ratelimit.Set
	key      string
	fallback time.Duration
}

// Deploy deploys a once a token is taken.
func (l limitedDeployer) Deploy(ctx context.Context, a wire.Artifact) (bool, error) {
	ref := ratelimit.Ref{EventID: a.EventID, ExecutionID: a.ExecutionID}
	if err := l.set.Take(ctx, l.key, ref, ratelimit.MaxWait(ctx, l.fallback)); err != nil {
		return false, err
	}
	return l.d.Deploy(ctx, a)
}
