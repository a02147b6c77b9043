package deploy

import (
	"github.com/regen-dev/regen/internal/procgroup"

	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// command is a configured validator: an argv run on a temporary copy of
// the artifact.
type command struct {
	argv    []string // argv[0] absolute
	timeout time.Duration
}

// check writes a's content to a file named like a in a fresh temporary
// directory and runs the command on it there.
func (c command) check(ctx context.Context, a wire.Artifact) error {
	dir, err := tempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, path.Base(a.Path))
	if err := os.WriteFile(file, a.Content, 0o600); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrValidatorUnavailable, file, err)
	}
	return c.run(ctx, dir, file, a.Path)
}

// tempDir makes the fresh, absolute directory of one run.
func tempDir() (string, error) {
	dir, err := os.MkdirTemp("", "regen-validate-*")
	if err == nil {
		var abs string
		if abs, err = filepath.Abs(dir); err == nil {
			return abs, nil
		}
		_ = os.RemoveAll(dir)
	}
	return "", fmt.Errorf("%w: temporary directory: %w", ErrValidatorUnavailable, err)
}

// args is the command's arguments for file: each FileArg replaced by it,
// or, without one, it appended.
func (c command) args(file string) []string {
	args := make([]string, 0, len(c.argv))
	found := false
	for _, a := range c.argv[1:] {
		if a == FileArg {
			a, found = file, true
		}
		args = append(args, a)
	}
	if !found {
		args = append(args, file)
	}
	return args
}

// run runs the command on file in dir, without a shell and with the exec
// engine's environment, in its own process group, killed after timeout.
// A refusal (a non-zero exit) is an error of its output, in which file is
// named as the artifact is (as); a failure to run matches
// ErrValidatorUnavailable, ctx's end is ctx's error.
func (c command) run(ctx context.Context, dir, file, as string) error {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, c.argv[0], c.args(file)...)
	cmd.Dir, cmd.Env = dir, baseEnv()
	out := &headBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	procgroup.Own(cmd)
	err := cmd.Run()
	if cmd.Process != nil {
		_ = procgroup.Kill(cmd.Process.Pid) // what it left running in its group
	}
	return c.outcome(ctx, rctx, err, strings.ReplaceAll(out.String(), file, as))
}

// outcome classifies the end of a run.
func (c command) outcome(ctx, rctx context.Context, err error, out string) error {
	var ee *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay): // exit 0; something it started kept the output open
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", c.argv[0], ctx.Err())
	case rctx.Err() != nil:
		return fmt.Errorf("%w: %s did not finish within %s", ErrValidatorUnavailable, c.argv[0], c.timeout)
	case errors.As(err, &ee) && ee.Exited():
		if strings.TrimSpace(out) == "" {
			return errors.New(ee.Error())
		}
		return errors.New(out)
	}
	return fmt.Errorf("%w: %s: %w", ErrValidatorUnavailable, c.argv[0], err)
}

// baseEnv passes only what a validator needs from regen's own
// environment, as the exec engine does: never regen's credentials.
func baseEnv() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// headBuffer keeps the first headMax bytes written to it (a validator's
// output, for the message) and discards the rest, so a chatty validator
// is never blocked nor costs memory.
type headBuffer struct{ b []byte }

const headMax = 4 << 10

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := headMax - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string { return string(h.b) }
