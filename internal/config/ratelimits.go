package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/regen-dev/regen/internal/ratelimit"
)

// RateLimits are the cluster-wide rate limits by key: engine, deployer,
// target:TARGET (a deploy target written as in Deploy) or source:NAME (an
// event's source), each a rate N/s, N/m or N/h optionally followed by
// ",BURST", the cluster-wide burst (ratelimit.Parse), e.g.
// {engine: "200/s,50", "source:crm": 50/s}. None by default.
type RateLimits map[string]string

// Limits parses the rate limits, sorted by key; an error names the bad
// field (rate_limits.KEY).
func (c Config) Limits() ([]ratelimit.Limit, error) {
	var out []ratelimit.Limit
	for _, key := range slices.Sorted(maps.Keys(c.RateLimits)) {
		if err := ratelimit.CheckKey(key, c.Deploy); err != nil {
			return nil, fmt.Errorf("rate_limits.%s: %w", key, err)
		}
		l, err := ratelimit.Parse(key, c.RateLimits[key])
		if err != nil {
			return nil, fmt.Errorf("rate_limits.%s: %w", key, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// validateRateLimits reports every bad rate limit.
func (c Config) validateRateLimits() []error {
	var errs []error
	for key, spec := range c.RateLimits {
		one := Config{Deploy: c.Deploy, RateLimits: RateLimits{key: spec}}
		if _, err := one.Limits(); err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// rateLimitsS sets the rate limits from KEY=RATE entries separated by ";"
// (a repeated flag adds one): the whole map, replacing the file's; KEY may
// hold "=" (it ends at the last one).
func rateLimitsS(key, flag, usage string, p *RateLimits) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		m := RateLimits{}
		for _, entry := range strings.Split(v, mapSep) {
			if entry = strings.TrimSpace(entry); entry == "" {
				continue
			}
			i := strings.LastIndex(entry, "=")
			if i <= 0 {
				return fmt.Errorf("%q is not KEY=RATE", entry)
			}
			m[strings.TrimSpace(entry[:i])] = strings.TrimSpace(entry[i+1:])
		}
		*p = m
		return nil
	}}
}
