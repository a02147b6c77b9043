package app

import (
	"log/slog"

	"github.com/regen-dev/regen/internal/faults"
	"github.com/regen-dev/regen/orchestrator"
)

// injectFaults wraps the engine and deployer with the configured faults
// (the `faults` setting; empty in production).
func (s *Service) injectFaults(eng orchestrator.Engine, dep orchestrator.Deployer) (orchestrator.Engine, orchestrator.Deployer) {
	specs, err := faults.Parse(s.cfg.Faults)
	if err != nil || len(specs) == 0 {
		return eng, dep // Validate refused a bad spec at load time
	}
	s.log.Warn("fault injection is on", slog.String("faults", s.cfg.Faults))
	if sp, ok := specs["engine"]; ok {
		eng = faults.WrapEngine(eng, sp)
	}
	if sp, ok := specs["deployer"]; ok {
		dep = faults.WrapDeployer(dep, sp)
	}
	return eng, dep
}
