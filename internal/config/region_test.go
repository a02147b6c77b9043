package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus"
)

func TestRegionFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region.Name != "" || len(cfg.Region.Peers) != 0 || cfg.Region.IngestMaxAge != bus.IngestMaxAgeDefault {
		t.Fatalf("default region: %+v", cfg.Region)
	}
	cfg, err = load(t, []string{"--region", "east", "--region-peers", "west,north"},
		map[string]string{"REGEN_REGION_INGEST_MAX_AGE": "72h"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region.Name != "east" || !slices.Equal(cfg.Region.Peers, []string{"west", "north"}) || cfg.Region.IngestMaxAge != 72*time.Hour {
		t.Fatalf("region: %+v", cfg.Region)
	}
}

func TestBadRegionsAreAllNamed(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--region-peers", "west"}, nil)
	if err == nil || !strings.Contains(err.Error(), "region.peers: set without region.name") {
		t.Fatalf("peers without a name: %v", err)
	}
	_, err = load(t, []string{"--region", "e.ast", "--region-peers", "west,west,x*", "--region-ingest-max-age", "-1s"}, nil)
	for _, want := range []string{`region.name: "e.ast" is not a JetStream domain`, `region.peers: "west" is listed twice`,
		`region.peers: "x*" is not a JetStream domain`, "region.ingest_max_age: must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
}
