package config

import (
	"fmt"
	"strings"
	"time"
)

// Region places the deployment in one region of several, each a
// JetStream domain of its own (docs/scale-out.md). The zero value is one
// region: REGEN_CHANGES captures the publishes itself.
type Region struct {
	// Name is this region's JetStream domain (empty: no regions).
	Name string `yaml:"name"`
	// Peers are the other regions' JetStream domains, whose REGEN_INGEST
	// this region's REGEN_CHANGES sources.
	Peers []string `yaml:"peers"`
	// IngestMaxAge is how long REGEN_INGEST keeps the region's events
	// (7 days): the longest outage from which a peer catches up.
	IngestMaxAge time.Duration `yaml:"ingest_max_age"`
}

// regionSettings: the region and its peers.
func regionSettings(c *Config) []setting {
	return []setting{
		strS("region.name", "region", "this region's JetStream domain (empty: one region; see docs/scale-out.md)", &c.Region.Name),
		listS("region.peers", "region-peers", "the other regions' JetStream domains, comma-separated", &c.Region.Peers),
		durS("region.ingest_max_age", "region-ingest-max-age", "how long REGEN_INGEST keeps the region's events for its peers", &c.Region.IngestMaxAge),
	}
}

func (c Config) validateRegion() []error {
	r := c.Region
	var errs []error
	if r.Name == "" && len(r.Peers) > 0 {
		errs = append(errs, fmt.Errorf("region.peers: set without region.name"))
	}
	if r.Name != "" {
		if err := checkDomain(r.Name); err != nil {
			errs = append(errs, fmt.Errorf("region.name: %w", err))
		}
	}
	seen := map[string]bool{r.Name: true}
	for _, p := range r.Peers {
		if err := checkDomain(p); err != nil {
			errs = append(errs, fmt.Errorf("region.peers: %w", err))
		} else if seen[p] {
			errs = append(errs, fmt.Errorf("region.peers: %q is listed twice or is this region", p))
		}
		seen[p] = true
	}
	if r.IngestMaxAge < 0 {
		errs = append(errs, fmt.Errorf("region.ingest_max_age: must not be negative, got %s", r.IngestMaxAge))
	}
	return errs
}

// checkDomain refuses what cannot be one token of $JS.<domain>.API.
func checkDomain(d string) error {
	if d == "" || strings.ContainsAny(d, ".*> \t\r\n") {
		return fmt.Errorf("%q is not a JetStream domain (one subject token)", d)
	}
	return nil
}
