// Package ratelimit owns the token buckets that pace the work of a replica:
// one per configured limit (the engine, the deployer, each deploy target,
// each event source), each holding this replica's share of a cluster-wide
// rate.
//
// A cluster-wide rate R over n live replicas is kept by giving each
// replica R/n (and a burst of Burst/n, at least 1), re-balanced with
// SetReplicas as the replica registry sees replicas come and go. The
// alternative, a shared token budget in KV, would cost a round trip per
// token (or per batch of tokens) and a contended write on every event;
// the share costs nothing per event, at the price of a brief over- or
// under-admission while membership changes (until every replica has seen
// the new count: one registry interval).
//
//	set := ratelimit.New(limits, ratelimit.Options{})
//	set.SetReplicas(3)
//	ref := ratelimit.Ref{EventID: ev.ID, ExecutionID: execID}
//	if err := set.Take(ctx, ratelimit.Engine, ref, maxWait); err != nil { ... }
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// The limit keys of the components; a deploy target's key is
// TargetPrefix+target ("target:dir:./out"), an event source's
// SourcePrefix+source ("source:crm").
const (
	Engine       = "engine"
	Deployer     = "deployer"
	TargetPrefix = "target:"
	SourcePrefix = "source:"
)

// ErrSyntax is matched by every error of Parse.
var ErrSyntax = errors.New("rate limit syntax")

// Limit is one cluster-wide rate limit.
type Limit struct {
	// Key names what is limited: Engine, Deployer, TargetPrefix+target or
	// SourcePrefix+source.
	Key string
	// PerSecond is the cluster-wide rate in events per second.
	PerSecond float64
	// Burst is the cluster-wide burst: as configured, else
	// DefaultBurst(PerSecond).
	Burst int
}

// DefaultBurst is the burst of a limit configured without one: a tenth of
// a second's worth, at least 1.
func DefaultBurst(perSecond float64) int { return max(1, int(math.Ceil(perSecond/10))) }

// Parse reads "RATE" or "RATE,BURST" as the limit of key: RATE is "N/s",
// "N/m" or "N/h" (N a positive number, e.g. "200/s", "0.5/s", "30/m"),
// BURST a whole number of at least 1 ("200/s,50"; without it,
// DefaultBurst).
func Parse(key, spec string) (Limit, error) {
	rateSpec, burstSpec, hasBurst := strings.Cut(strings.TrimSpace(spec), ",")
	ps, err := parseRate(rateSpec)
	if err != nil {
		return Limit{}, err
	}
	l := Limit{Key: key, PerSecond: ps, Burst: DefaultBurst(ps)}
	if hasBurst {
		if l.Burst, err = parseBurst(burstSpec); err != nil {
			return Limit{}, err
		}
	}
	return l, nil
}

// parseRate reads "N/s", "N/m" or "N/h" as events per second.
func parseRate(spec string) (float64, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(spec), "/")
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	v, err := strconv.ParseFloat(n, 64)
	if !ok || per == 0 || err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: rate %q is not N/s, N/m or N/h with N positive", ErrSyntax, spec)
	}
	return v / per, nil
}

// parseBurst reads a burst: a whole number of at least 1.
func parseBurst(spec string) (int, error) {
	b, err := strconv.Atoi(strings.TrimSpace(spec))
	if err != nil || b < 1 {
		return 0, fmt.Errorf("%w: burst must be a whole number of at least 1, got %q", ErrSyntax, spec)
	}
	return b, nil
}

// CheckKey reports whether key names a limit: Engine, Deployer,
// SourcePrefix+NAME, or TargetPrefix+T with T one of targets.
func CheckKey(key string, targets []string) error {
	switch {
	case key == Engine, key == Deployer:
		return nil
	case strings.HasPrefix(key, SourcePrefix) && len(key) > len(SourcePrefix):
		return nil
	case strings.HasPrefix(key, TargetPrefix):
		t := strings.TrimPrefix(key, TargetPrefix)
		for _, have := range targets {
			if t == have {
				return nil
			}
		}
		return fmt.Errorf("unknown deploy target %q (deploy lists %v)", t, targets)
	}
	return fmt.Errorf("unknown limit %q: want engine, deployer, target:TARGET or source:NAME", key)
}

// Ref names the event a token is taken for; Take passes it on in the
// Event it reports.
type Ref struct {
	EventID     string
	ExecutionID string
}

// Event is what Options.OnLimited is told when an event meets a limit.
type Event struct {
	Limit string
	// Ref is the event's, as given to Take.
	Ref
	// Nak is false when the event waited Delay for its token, true when it
	// was given back to retry in Delay.
	Nak   bool
	Delay time.Duration
}

// Options tune a Set.
type Options struct {
	// OnLimited is called (from the limited goroutine, it must not block)
	// each time an event waits or is given back; nil: nobody is told.
	OnLimited func(Event)
}

// Set is a replica's limiters, by key. Safe for concurrent use.
type Set struct {
	limits   map[string]Limit
	limiters map[string]*rate.Limiter
	opts     Options
}

// New returns the limiters of limits, each at the whole rate (one replica)
// until SetReplicas. A nil or empty limits gives an empty Set.
func New(limits []Limit, opts Options) *Set {
	s := &Set{limits: map[string]Limit{}, limiters: map[string]*rate.Limiter{}, opts: opts}
	for _, l := range limits {
		s.limits[l.Key] = l
		s.limiters[l.Key] = rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst)
	}
	return s
}

// Empty reports whether the set holds no limit (callers skip it then).
func (s *Set) Empty() bool { return s == nil || len(s.limiters) == 0 }

// Has reports whether key is limited.
func (s *Set) Has(key string) bool {
	if s.Empty() {
		return false
	}
	_, ok := s.limiters[key]
	return ok
}

// SetReplicas gives this replica its share of every limit among n live
// replicas (n below 1 counts as 1).
func (s *Set) SetReplicas(n int) {
	n = max(n, 1)
	for key, l := range s.limits {
		lim := s.limiters[key]
		lim.SetLimit(rate.Limit(l.PerSecond / float64(n)))
		lim.SetBurst(max(1, l.Burst/n))
	}
}

// Burst returns this replica's current burst for key (0 when unlimited).
func (s *Set) Burst(key string) int {
	if !s.Has(key) {
		return 0
	}
	return s.limiters[key].Burst()
}

// Rate returns this replica's current rate for key (0 when unlimited).
func (s *Set) Rate(key string) float64 {
	if !s.Has(key) {
		return 0
	}
	return float64(s.limiters[key].Limit())
}
