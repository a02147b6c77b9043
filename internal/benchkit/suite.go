package benchkit

import (
	"context"
	"fmt"
	"time"
)

// suite is one run in progress.
type suite struct {
	cfg Config
	env *env
	rep *Report
}

func (s *suite) progress(format string, args ...any) {
	fmt.Fprintf(s.cfg.Progress, "bench: "+format+"\n", args...)
}

// Run runs every scenario on one embedded server and returns the report.
// A scenario that cannot run at all (no Watermill module, no child
// command) leaves its figure null with the reason in Report.Errors; any
// other failure is returned.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	e, err := newEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer e.close()
	s := &suite{cfg: cfg, env: e, rep: &Report{Errors: map[string]string{}}}
	for _, step := range []func(context.Context) error{s.overhead, s.efficiency, s.cycles, s.watermill, s.rss, s.real, s.graph, s.priority} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	s.rep.Detail.Seconds = time.Since(start).Seconds()
	s.rep.Detail.Quick = cfg.Quick
	s.rep.Machine = thisMachine()
	judge(s.rep, cfg.Quick)
	return s.rep, nil
}
