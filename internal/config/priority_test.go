package config

import (
	"strings"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

// The priority settings come from the file, env and flags; levels left
// out keep their default weight, and `regen config` prints them all.
func TestPrioritySettings(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "priority_weights:\n  critical: 16\npriority_strict: true\n")
	cfg, err := load(t, []string{"--config", file, "--priority-levels"}, map[string]string{"REGEN_PRIORITY_AGING": "6"})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Orchestrator
	if !o.PriorityLevels || !o.PriorityStrict || o.PriorityAging != 6 || o.PriorityWeights[wire.PriorityCritical] != 16 ||
		o.PriorityWeights[wire.PriorityLow] != 1 {
		t.Fatalf("priority settings: %+v", o)
	}
	out, err := YAML(cfg)
	if err != nil || !strings.Contains(string(out), "priority_weights:") || !strings.Contains(string(out), "low: 1") {
		t.Fatalf("yaml (%v):\n%s", err, out)
	}
	cfg, err = load(t, []string{"--priority-weights", "high=3;low=2"}, nil)
	if err != nil || cfg.Orchestrator.PriorityWeights[wire.PriorityHigh] != 3 || cfg.Orchestrator.PriorityWeights[wire.PriorityLow] != 2 {
		t.Fatalf("flag weights: %v %v", cfg.Orchestrator.PriorityWeights, err)
	}
}

// Priority levels are on by default; the file, env and flags turn them off.
func TestPriorityLevelsAreTheDefault(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, nil, nil)
	if err != nil || !cfg.Orchestrator.PriorityLevels {
		t.Fatalf("default priority_levels = %v (%v), want true", cfg.Orchestrator.PriorityLevels, err)
	}
	for name, src := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"file": {[]string{"--config", writeFile(t, "priority_levels: false\n")}, nil},
		"env":  {nil, map[string]string{"REGEN_PRIORITY_LEVELS": "false"}},
		"flag": {[]string{"--priority-levels=false"}, nil},
	} {
		cfg, err := load(t, src.args, src.env)
		if err != nil || cfg.Orchestrator.PriorityLevels {
			t.Errorf("%s: priority_levels = %v (%v), want false", name, cfg.Orchestrator.PriorityLevels, err)
		}
	}
}

func TestBadPrioritySettingsAreNamed(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--priority-weights", "urgent=3,low=0", "--priority-aging", "-1"}, nil)
	for _, want := range []string{`unknown priority "urgent"`, "priority_weights.low", "priority_aging"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := load(t, []string{"--priority-weights", "low"}, nil); err == nil || !strings.Contains(err.Error(), "LEVEL=N") {
		t.Errorf("malformed weights: %v", err)
	}
}
