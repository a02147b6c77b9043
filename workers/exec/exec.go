package exec

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/procgroup"
	"github.com/regen-dev/regen/internal/tracing"
)

// Exec engine defaults.
const (
	TimeoutDefault     = 30 * time.Second
	MaxOutputDefault   = 64 << 20
	ReapTimeoutDefault = 5 * time.Second
	// ExitPermanent is the generator exit code (EX_DATAERR) that marks its
	// failure as permanent: the event is dead-lettered, not retried. Any
	// other non-zero exit is transient.
	ExitPermanent = 65
)

// RunTokenVar is the environment variable that carries a random token,
// new for each run, to the generator and everything it starts: the engine
// finds a run's processes that left its process group by this token.
const RunTokenVar = "REGEN_EXEC_RUN"

// Config configures an Engine.
type Config struct {
	// Command is the generator's argv, run directly (never through a
	// shell, never built from event data). Required.
	Command []string
	// ScratchDir is where each run's scratch directory is made (os.TempDir()).
	ScratchDir string
	// Timeout bounds one run (TimeoutDefault); the generator and what it
	// started are killed when it passes.
	Timeout time.Duration
	// MaxOutput bounds the bytes of all files one run writes (64 MiB).
	MaxOutput int64
	// ReapTimeout bounds each wait after the generator exits: for the
	// processes it left to be killed and reaped, then for its output pipe
	// to close (ReapTimeoutDefault).
	ReapTimeout time.Duration
	// Env is added to the generator's environment (static configuration).
	Env []string
}

// Engine runs a generator command per change: the event as JSON on
// stdin and as REGEN_* environment variables, in a fresh scratch directory
// that is also its working directory; every regular file it leaves there
// is an artifact, at the same relative path. When the generator exits, on
// every path (success, failure, timeout, cancellation), every process it
// left behind is killed before Regenerate returns. Safe for concurrent use.
type Engine struct {
	cfg Config
}

// NewEngine checks cfg and returns the engine. On Linux the first call
// makes the regen process a child subreaper (PR_SET_CHILD_SUBREAPER), so
// that processes a generator detaches are re-parented to regen, which
// kills and reaps them.
func NewEngine(cfg Config) (*Engine, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("exec engine: field Command is empty")
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, fmt.Errorf("exec engine: command %q: %w", cfg.Command[0], err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = TimeoutDefault
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = MaxOutputDefault
	}
	if cfg.ReapTimeout <= 0 {
		cfg.ReapTimeout = ReapTimeoutDefault
	}
	_ = becomeSubreaper() // best effort: without it, init reaps what a run kills
	return &Engine{cfg: cfg}, nil
}

// Template is the template name of the artifacts an exec engine returns,
// and of its costs.
const Template = "exec"

// Regenerate runs the generator for ch and returns the files it wrote.
// Artifacts carry the stream sequence as their revision, so a late render
// of an older change never overwrites a newer one. The whole call is the
// render stage of ch's cost; the generator's CPU time is taken exactly
// from its rusage (cost.Recorder.Child).
func (e *Engine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	start := time.Now()
	ctx, span := tracing.StartStage(ctx, tracing.StageRender)
	arts, err := e.regenerate(ctx, ch)
	tracing.End(span, err)
	rendered := 0
	for _, a := range arts {
		rendered += len(a.Content)
	}
	rec := cost.From(ctx)
	rec.AddStage(cost.Render, time.Since(start))
	rec.Rendered(Template, time.Since(start), rendered)
	return arts, err
}

func (e *Engine) regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
	scratch, err := os.MkdirTemp(e.cfg.ScratchDir, "regen-exec-*")
	if err != nil {
		return nil, fmt.Errorf("exec %s: scratch: %w", ch.Event.ID, err)
	}
	defer os.RemoveAll(scratch)
	if err := e.run(ctx, ch, scratch); err != nil {
		return nil, err
	}
	return collect(ch, scratch, e.cfg.MaxOutput)
}

// run starts the generator in scratch, waits for it, and returns once
// every process of the run is gone and its output pipe is closed.
func (e *Engine) run(ctx context.Context, ch wire.Change, scratch string) error {
	input, err := json.Marshal(ch.Event)
	if err != nil {
		return fmt.Errorf("exec %s: encode event: %w", ch.Event.ID, err)
	}
	env, err := eventEnv(ch, scratch)
	if err != nil {
		return fmt.Errorf("exec %s: %w: %w", ch.Event.ID, wire.ErrPermanent, err)
	}
	token := rand.Text()
	rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, e.cfg.Command[0], e.cfg.Command[1:]...)
	cmd.Dir = scratch
	cmd.Env = append(append(append(baseEnv(), e.cfg.Env...), env...), RunTokenVar+"="+token)
	sio, err := newStdio(cmd)
	if err != nil {
		return fmt.Errorf("exec %s: %w", ch.Event.ID, err)
	}
	procgroup.Own(cmd)
	if err := cmd.Start(); err != nil {
		sio.abort()
		return fmt.Errorf("exec %s: start: %w", ch.Event.ID, err)
	}
	sio.started(input)
	started := time.Now()
	werr, serr := waitAndSettle(cmd, token, e.cfg.ReapTimeout)
	recordChild(ctx, cmd.ProcessState, time.Since(started))
	held := sio.finish(e.cfg.ReapTimeout)
	return runErr(rctx, ch, outcome{wait: werr, settle: serr, held: held, output: sio.output()})
}

// recordChild records the generator's wall time and its CPU time (user
// and system, from the rusage its wait returned: its own and that of the
// descendants it waited for) in ctx's cost.Recorder.
func recordChild(ctx context.Context, ps *os.ProcessState, wall time.Duration) {
	if ps == nil {
		return
	}
	cost.From(ctx).Child(Template, wall, ps.UserTime()+ps.SystemTime())
}

// outcome is what a run left: Wait's error, the error of killing what it
// left behind, whether its output stayed open, and its output's tail.
type outcome struct {
	wait, settle error
	held         bool
	output       string
}

// runErr classifies a run: a timeout or cancellation is transient, exit
// ExitPermanent is permanent, another failure is transient, processes that
// survived SIGKILL are transient (the kernel's doing, not the data's), and
// an output pipe that some process kept open is permanent (the
// generator's doing: every retry would do it again).
func runErr(ctx context.Context, ch wire.Change, o outcome) error {
	id := ch.Event.ID
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("exec %s: %w (%v): %s", id, ctx.Err(), o.wait, o.output)
	case errors.As(o.wait, &ee) && ee.ExitCode() == ExitPermanent:
		return wire.PermanentReason(wire.ReasonExecRejected,
			fmt.Errorf("exec %s: generator rejected the event: exit %d: %s", id, ExitPermanent, o.output))
	case o.wait != nil:
		return fmt.Errorf("exec %s: %w: %s", id, o.wait, o.output)
	case o.settle != nil:
		return fmt.Errorf("exec %s: %w", id, o.settle)
	case o.held:
		return wire.PermanentReason(wire.ReasonExecOutputHeld,
			fmt.Errorf("exec %s: a process outside the generator's reach still holds its output open", id))
	}
	return nil
}

// eventEnv is the event as REGEN_* variables. Values are data, passed as
// environment entries: no shell ever parses them.
func eventEnv(ch wire.Change, scratch string) ([]string, error) {
	ev := ch.Event
	vars := map[string]string{"REGEN_EVENT_ID": ev.ID, "REGEN_CHANGE_TYPE": string(ev.ChangeType),
		"REGEN_SUBJECT": ev.Subject, "REGEN_SOURCE": ev.Source, "REGEN_EXECUTION_ID": ch.ExecutionID,
		"REGEN_SEQ": strconv.FormatUint(ch.Seq, 10), "REGEN_OUT_DIR": scratch}
	if ev.Predicate != nil {
		vars["REGEN_PREDICATE"] = *ev.Predicate
	}
	if ev.Object != nil {
		vars["REGEN_OBJECT"] = *ev.Object
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		if strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("%s contains a NUL byte", k)
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// baseEnv passes only what a generator needs from regen's own environment:
// never regen's credentials.
func baseEnv() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}
