package config

import (
	"strings"
	"testing"
)

func TestRateLimitsFromFileAndFlags(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "rate_limits:\n  engine: 200/s\n  \"source:crm\": 50/s\n")
	cfg, err := load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	limits, err := cfg.Limits()
	if err != nil || len(limits) != 2 || limits[0].Key != "engine" || limits[0].PerSecond != 200 ||
		limits[1].Key != "source:crm" || limits[1].PerSecond != 50 {
		t.Fatalf("from the file: %+v, %v", limits, err)
	}
	cfg, err = load(t, []string{"--config", file, "--rate-limit", "engine=100/s", "--rate-limit", "target:dir:./out=10/m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RateLimits) != 2 || cfg.RateLimits["engine"] != "100/s" || cfg.RateLimits["target:dir:./out"] != "10/m" {
		t.Fatalf("flags do not replace the file's limits: %v", cfg.RateLimits)
	}
}

func TestRateLimitBurst(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, []string{"--rate-limit", "engine=200/s,50", "--rate-limit", "deployer=200/s"},
		map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	limits, err := cfg.Limits()
	if err != nil || len(limits) != 2 || limits[0].Key != "deployer" || limits[0].Burst != 20 ||
		limits[1].Key != "engine" || limits[1].Burst != 50 {
		t.Fatalf("limits %+v, %v: want the engine's burst 50, the deployer's the default 20", limits, err)
	}
	cfg, err = load(t, nil, map[string]string{"REGEN_RATE_LIMITS": "source:crm=5/s,10; engine=1/s"})
	if err != nil || cfg.RateLimits["source:crm"] != "5/s,10" {
		t.Fatalf("from the env: %v, %v", cfg.RateLimits, err)
	}
	file := writeFile(t, "rate_limits:\n  engine: 200/s,5\n")
	if cfg, err = load(t, []string{"--config", file}, nil); err != nil {
		t.Fatal(err)
	}
	if limits, err := cfg.Limits(); err != nil || limits[0].Burst != 5 {
		t.Fatalf("from the file: %+v, %v", limits, err)
	}
}

func TestABadBurstIsNamed(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"200/s,0", "200/s,-3", "200/s,many", "200/s,"} {
		_, err := load(t, []string{"--rate-limit", "engine=" + spec}, nil)
		if err == nil || !strings.Contains(err.Error(), "rate_limits.engine:") || !strings.Contains(err.Error(), "burst") {
			t.Errorf("engine=%s: %v, want an error naming rate_limits.engine and the burst", spec, err)
		}
	}
}

func TestBadRateLimitsAreAllNamed(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--rate-limit", "engine=fast", "--rate-limit", "renderer=5/s",
		"--rate-limit", "target:dir:./elsewhere=1/s"}, nil)
	if err == nil {
		t.Fatal("bad rate limits accepted")
	}
	for _, want := range []string{"rate_limits.engine:", "rate_limits.renderer: unknown limit",
		"rate_limits.target:dir:./elsewhere: unknown deploy target"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := load(t, []string{"--rate-limit", "=5/s"}, nil); err == nil {
		t.Fatal("an entry without a key accepted")
	}
}
