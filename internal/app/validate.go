package app

import (
	"context"
	"fmt"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/orchestrator"
	"github.com/regen-dev/regen/workers/deploy"
)

// validation builds the validators of the configuration (a command not
// found fails the start) and returns what gives a target's deployer its
// validation hook: the target's own validators (deploy_validate), then
// each artifact's (its template's validate list).
func (s *Service) validation() (func(orchestrator.Deployer, config.Target) error, error) {
	vs, err := deploy.NewValidators(s.cfg.Validation.ValidatorsConfig())
	if err != nil {
		return nil, fmt.Errorf("validators: %w", err)
	}
	return func(d orchestrator.Deployer, t config.Target) error {
		return setValidate(d, t, vs.Hook(s.cfg.Validation.DeployValidate[t.Kind+":"+t.Arg]...))
	}, nil
}

// setValidate installs hook in d; a deployer without a Validate hook is
// refused rather than left unchecked.
func setValidate(d orchestrator.Deployer, t config.Target, hook func(context.Context, wire.Artifact) error) error {
	switch d := d.(type) {
	case *deploy.Dir:
		d.Validate = hook
	case *deploy.ObjectStore:
		d.Validate = hook
	default:
		return fmt.Errorf("deploy %s:%s: a %T takes no validators", t.Kind, t.Arg, d)
	}
	return nil
}
