package observe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// errDraining is the failure of the "draining" readiness check.
var errDraining = errors.New("replica is stopping")

// Readiness is the JSON body of /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Failed names the first failing check ("" when ready).
	Failed string `json:"failed,omitempty"`
	// Checks lists the checks that ran, in order; those after a failure
	// are not run.
	Checks []CheckResult `json:"checks"`
}

// CheckResult is one readiness check's result.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Ready runs the checks in order, "draining" first, then the liveness
// checks, then the readiness checks, stopping at the first failure.
func (s *Server) Ready(ctx context.Context) Readiness {
	checks := append([]Check{{Name: "draining", Fn: s.notDraining}}, s.cfg.Live...)
	return s.run(ctx, append(checks, s.cfg.Checks...))
}

// Alive runs the liveness checks in order, stopping at the first failure:
// a replica that fails one can no longer make progress, and only a
// restart helps.
func (s *Server) Alive(ctx context.Context) Readiness { return s.run(ctx, s.cfg.Live) }

func (s *Server) run(ctx context.Context, checks []Check) Readiness {
	r := Readiness{Ready: true, Checks: make([]CheckResult, 0, len(checks))}
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
		err := c.Fn(cctx)
		cancel()
		res := CheckResult{Name: c.Name, OK: err == nil}
		if err != nil {
			res.Error = err.Error()
			r.Ready, r.Failed = false, c.Name
		}
		r.Checks = append(r.Checks, res)
		if err != nil {
			break
		}
	}
	return r
}

func (s *Server) notDraining(context.Context) error {
	if s.draining.Load() {
		return errDraining
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, req *http.Request) {
	writeProbe(w, s.Ready(req.Context()))
}

func (s *Server) healthz(w http.ResponseWriter, req *http.Request) {
	writeProbe(w, s.Alive(req.Context()))
}

func writeProbe(w http.ResponseWriter, r Readiness) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}
