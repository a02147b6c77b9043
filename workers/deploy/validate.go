package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"
)

// ValidatorTimeoutDefault bounds one run of a command validator.
const ValidatorTimeoutDefault = 10 * time.Second

// FileArg is the argument of a command validator's argv that is replaced
// by the path of the file to check; an argv without it gets the path as
// its last argument.
const FileArg = "{file}"

// ErrValidatorUnavailable matches a validator that could not give a
// verdict: its temporary file could not be written, its command could not
// start, was killed by a signal or outlived its timeout. Unlike a refusal
// it says nothing about the artifact, so it is not permanent: the event
// is retried.
var ErrValidatorUnavailable = errors.New("validator unavailable")

// ValidationError is a validator's refusal of an artifact: the validator's
// name and what it said (the first lines of its output).
type ValidationError struct {
	Validator string
	Message   string
}

// Error is "validator: message".
func (e *ValidationError) Error() string { return e.Validator + ": " + e.Message }

// ValidatorsConfig configures a Validators registry.
type ValidatorsConfig struct {
	// Commands are the command validators by name (the config key
	// validators): each an argv run directly, never through a shell, with
	// the artifact's content in a temporary file named like the artifact
	// (its path replaces a FileArg argument, or is appended). Exit status 0
	// accepts the artifact, another refuses it. A name may not be a
	// built-in's.
	Commands map[string][]string
	// Timeout bounds one run of a command validator
	// (ValidatorTimeoutDefault unless positive).
	Timeout time.Duration
}

var validatorNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// Validate reports every bad command at once, each named by its config
// key (validators.NAME).
func (c ValidatorsConfig) Validate() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Commands)) {
		argv := c.Commands[name]
		switch {
		case !validatorNameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("validators.%s: a name is 1 to 128 of A-Z a-z 0-9 . _ -", name))
		case builtins[name] != nil:
			errs = append(errs, fmt.Errorf("validators.%s: %s is a built-in validator", name, name))
		case len(argv) == 0 || argv[0] == "":
			errs = append(errs, fmt.Errorf("validators.%s: the argv is empty (a command and its arguments)", name))
		}
	}
	return errors.Join(errs...)
}

// Known reports whether name is a built-in validator or one of Commands.
func (c ValidatorsConfig) Known(name string) bool {
	_, ok := c.Commands[name]
	return ok || builtins[name] != nil
}

// Catalog lists the built-in validators, then the configured ones, each
// sorted: what an unknown name is told it could have been.
func (c ValidatorsConfig) Catalog() string {
	return "built in: " + strings.Join(BuiltinValidators(), ", ") +
		"; configured: " + cmp.Or(strings.Join(slices.Sorted(maps.Keys(c.Commands)), ", "), "none")
}

// BuiltinValidators are the names of the validators regen has without
// configuration: go (go/format must parse it; gofmt is the same), json,
// yaml (every document).
func BuiltinValidators() []string { return slices.Sorted(maps.Keys(builtins)) }

// check is one validator: nil accepts the artifact, an error refuses it
// with its message, ErrValidatorUnavailable or ctx's error says nothing.
type check func(ctx context.Context, a wire.Artifact) error

// Validators runs validators by name on artifacts: the built-ins and the
// configured commands. It is safe for concurrent use.
type Validators struct {
	cfg    ValidatorsConfig
	checks map[string]check
}

// NewValidators checks cfg and resolves each command's executable (a
// command not on PATH is refused here, at start, not on each artifact).
func NewValidators(cfg ValidatorsConfig) (*Validators, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = ValidatorTimeoutDefault
	}
	v := &Validators{cfg: cfg, checks: maps.Clone(builtins)}
	for name, argv := range cfg.Commands {
		exe, err := resolve(argv[0])
		if err != nil {
			return nil, fmt.Errorf("validators.%s: %w", name, err)
		}
		v.checks[name] = command{argv: append([]string{exe}, argv[1:]...), timeout: cfg.Timeout}.check
	}
	return v, nil
}

// resolve finds an executable on PATH (or, for a path, checks it) and
// makes it absolute: the command runs in a temporary directory.
func resolve(name string) (string, error) {
	exe, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("command %q: %w", name, err)
	}
	abs, err := filepath.Abs(exe)
	if err != nil {
		return "", fmt.Errorf("command %q: %w", name, err)
	}
	return abs, nil
}

// Hook is the Validate hook of a deploy target that runs target on every
// artifact it deploys, then the artifact's own Validators (each name
// once, in that order).
func (v *Validators) Hook(target ...string) func(context.Context, wire.Artifact) error {
	target = slices.Clone(target)
	return func(ctx context.Context, a wire.Artifact) error {
		return v.Validate(ctx, a, slices.Concat(target, a.Validators)...)
	}
}

// Validate runs the named validators on a, in order, and stops at the
// first refusal. A delete is never validated. A refusal, or a name that
// is neither built in nor configured, is a permanent error (reason
// wire.ReasonValidation) naming the validator; a validator that could not
// run matches ErrValidatorUnavailable.
func (v *Validators) Validate(ctx context.Context, a wire.Artifact, names ...string) error {
	if a.Delete {
		return nil
	}
	names = unique(names)
	for _, name := range names {
		if v.checks[name] == nil {
			return wire.PermanentReason(wire.ReasonValidation,
				fmt.Errorf("unknown validator %q (%s)", name, v.cfg.Catalog()))
		}
	}
	for _, name := range names {
		if err := v.run(ctx, name, a); err != nil {
			return err
		}
	}
	return nil
}

// run runs one validator and classifies its error.
func (v *Validators) run(ctx context.Context, name string, a wire.Artifact) error {
	err := v.checks[name](ctx, a)
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrValidatorUnavailable) {
		return wrapIf(err, "validator "+name)
	}
	return wire.PermanentReason(wire.ReasonValidation, &ValidationError{Validator: name, Message: message(err.Error())})
}

// unique keeps the first of each name.
func unique(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// The bounds of a refusal's message: the first lines of what the
// validator said (a dead letter's Regen-Error keeps 512 bytes).
const (
	messageLines = 5
	messageMax   = 400
)

// message is the first non-blank lines of out, joined by "; ", at most
// messageMax bytes.
func message(out string) string {
	var lines []string
	for line := range strings.Lines(out) {
		if line = strings.TrimSpace(line); line != "" && len(lines) < messageLines {
			lines = append(lines, line)
		}
	}
	m := strings.Join(lines, "; ")
	if len(m) > messageMax {
		m = strings.ToValidUTF8(m[:messageMax], "") + "..."
	}
	return cmp.Or(m, "refused")
}
