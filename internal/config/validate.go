package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/regen-dev/regen/workers/deploy"
)

// Validation configures the validators an artifact must pass before it is
// deployed (besides its template's validate list); its keys sit at the
// top level.
type Validation struct {
	// Validators are the command validators by name, each an argv run on
	// a temporary copy of an artifact (deploy.ValidatorsConfig); the
	// built-ins (go, gofmt, json, yaml) need no entry. None by default.
	Validators map[string][]string `yaml:"validators"`
	// DeployValidate names, per deploy target (written as in Deploy), the
	// validators every artifact deployed there must pass. None by default.
	DeployValidate map[string][]string `yaml:"deploy_validate"`
	// ValidatorTimeout bounds one run of a command validator (10s).
	ValidatorTimeout time.Duration `yaml:"validator_timeout"`
}

// ValidatorsConfig is the configuration of the validator registry
// (validators, validator_timeout).
func (v Validation) ValidatorsConfig() deploy.ValidatorsConfig {
	return deploy.ValidatorsConfig{Commands: v.Validators, Timeout: v.ValidatorTimeout}
}

// validateValidation checks the command validators, their timeout, and
// that deploy_validate names deploy targets and known validators.
func (c Config) validateValidation() []error {
	v, vc := c.Validation, c.Validation.ValidatorsConfig()
	var errs []error
	if err := vc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if v.ValidatorTimeout <= 0 {
		errs = append(errs, fmt.Errorf("validator_timeout: must be positive, got %s", v.ValidatorTimeout))
	}
	for _, target := range slices.Sorted(maps.Keys(v.DeployValidate)) {
		if !slices.Contains(c.Deploy, target) {
			errs = append(errs, fmt.Errorf("deploy_validate.%s: not a deploy target (deploy: %s)", target, strings.Join(c.Deploy, ", ")))
		}
		for _, name := range v.DeployValidate[target] {
			if !vc.Known(name) {
				errs = append(errs, fmt.Errorf("deploy_validate.%s: unknown validator %q (%s)", target, name, vc.Catalog()))
			}
		}
	}
	return errs
}
