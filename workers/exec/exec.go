package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// Exec engine defaults.
const (
	TimeoutDefault   = 30 * time.Second
	MaxOutputDefault = 64 << 20
	// ExitPermanent is the generator exit code (EX_DATAERR) that marks its
	// failure as permanent: the event is dead-lettered, not retried. Any
	// other non-zero exit is transient.
	ExitPermanent = 65
)

// Config configures an Engine.
type Config struct {
	// Command is the generator's argv, run directly (never through a
	// shell, never built from event data). Required.
	Command []string
	// ScratchDir is where each run's scratch directory is made (os.TempDir()).
	ScratchDir string
	// Timeout bounds one run (TimeoutDefault); the whole process group
	// is killed when it passes.
	Timeout time.Duration
	// MaxOutput bounds the bytes of all files one run writes (64 MiB).
	MaxOutput int64
	// Env is added to the generator's environment (static configuration).
	Env []string
}

// Engine runs a generator command per change: the event as JSON on
// stdin and as REGEN_* environment variables, in a fresh scratch directory
// that is also its working directory; every regular file it leaves there
// is an artifact, at the same relative path. Safe for concurrent use.
type Engine struct {
	cfg Config
}

// NewEngine checks cfg and returns the engine.
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
	return &Engine{cfg: cfg}, nil
}

// Regenerate runs the generator for ch and returns the files it wrote.
// Artifacts carry the stream sequence as their revision, so a late render
// of an older change never overwrites a newer one.
func (e *Engine) Regenerate(ctx context.Context, ch wire.Change) ([]wire.Artifact, error) {
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

// run starts the generator in scratch and waits for it.
func (e *Engine) run(ctx context.Context, ch wire.Change, scratch string) error {
	stdin, err := json.Marshal(ch.Event)
	if err != nil {
		return fmt.Errorf("exec %s: encode event: %w", ch.Event.ID, err)
	}
	env, err := eventEnv(ch, scratch)
	if err != nil {
		return fmt.Errorf("exec %s: %w: %w", ch.Event.ID, wire.ErrPermanent, err)
	}
	rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, e.cfg.Command[0], e.cfg.Command[1:]...)
	cmd.Dir, cmd.Stdin = scratch, bytes.NewReader(stdin)
	cmd.Env = append(append(baseEnv(), e.cfg.Env...), env...)
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	killGroup(cmd)
	if err := cmd.Run(); err != nil {
		return execErr(ch, rctx, err, stderr.String())
	}
	return nil
}

// execErr classifies a failed run: exit ExitPermanent is permanent, a
// timeout or any other failure is transient.
func execErr(ch wire.Change, ctx context.Context, err error, stderr string) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == ExitPermanent {
		return fmt.Errorf("exec %s: %w: exit %d: %s", ch.Event.ID, wire.ErrPermanent, ExitPermanent, stderr)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("exec %s: %w (%v): %s", ch.Event.ID, ctx.Err(), err, stderr)
	}
	return fmt.Errorf("exec %s: %w: %s", ch.Event.ID, err, stderr)
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
