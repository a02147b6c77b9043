package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"
)

func builtinValidators(t *testing.T) *Validators {
	t.Helper()
	v, err := NewValidators(ValidatorsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// requireRefused fails unless err is a permanent validation_failed refusal
// by validator whose message holds every one of want.
func requireRefused(t *testing.T, err error, validator string, want ...string) {
	t.Helper()
	var ve *ValidationError
	if !wire.IsPermanent(err) || wire.ReasonOf(err) != wire.ReasonValidation || !errors.As(err, &ve) || ve.Validator != validator {
		t.Fatalf("err = %v (reason %s), want a permanent %s refusal by %s", err, wire.ReasonOf(err), wire.ReasonValidation, validator)
	}
	for _, w := range want {
		if !strings.Contains(ve.Message, w) {
			t.Errorf("message %q lacks %q", ve.Message, w)
		}
	}
}

func TestBuiltinValidators(t *testing.T) {
	t.Parallel()
	v := builtinValidators(t)
	for _, tc := range []struct {
		name, content string
		want          []string // nil: accepted
	}{
		{"go", "package x\n\nfunc F() {}\n", nil},
		{"go", "package x\n\nfunc F() {\n", []string{"3:12:", "expected '}'"}},
		{"gofmt", "package x\nfunc {", []string{"2:6:"}},
		{"gofmt", "package x\nvar   a=1\n", nil}, // parses: not formatted is fine
		{"json", `{"a": [1, 2]}`, nil},
		{"json", "{\n  \"a\": 1,\n  \"b\": x\n}", []string{"line 3, column 9", "offset 20", "invalid character 'x'"}},
		{"json", "", []string{"unexpected end of JSON input"}},
		{"yaml", "a: 1\n---\nb: [2]\n", nil},
		{"yaml", "a: 1\n---\nb: [2\n", []string{"document 2", "line"}},
		{"yaml", "a: 1\na: 2\n", []string{"already defined"}},
	} {
		a := artifact("out/f", tc.content, 1)
		err := v.Validate(context.Background(), a, tc.name)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s refused %q: %v", tc.name, tc.content, err)
			}
			continue
		}
		requireRefused(t, err, tc.name, tc.want...)
	}
}

func TestUnknownValidatorIsPermanentAndNamed(t *testing.T) {
	t.Parallel()
	v := builtinValidators(t)
	err := v.Validate(context.Background(), artifact("a.go", "package a", 1), "go", "nope")
	if !wire.IsPermanent(err) || wire.ReasonOf(err) != wire.ReasonValidation ||
		!strings.Contains(err.Error(), `unknown validator "nope"`) || !strings.Contains(err.Error(), "built in: go, gofmt, json, yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestDeletesAreNeverValidated(t *testing.T) {
	t.Parallel()
	v := builtinValidators(t)
	del := artifact("a.go", "", 2)
	del.Delete, del.Validators = true, []string{"go", "nope"}
	if err := v.Hook("json")(context.Background(), del); err != nil {
		t.Fatalf("a delete was validated: %v", err)
	}
}

func TestHookRunsTheTargetsThenTheArtifactsValidators(t *testing.T) {
	t.Parallel()
	v := builtinValidators(t)
	a := artifact("a.json", `{"a":1}`, 1)
	a.Validators = []string{"json", "go"}
	requireRefused(t, v.Hook("json")(context.Background(), a), "go") // json passes, then go refuses
	a.Validators = nil
	requireRefused(t, v.Hook("yaml", "go")(context.Background(), artifact("a", "a: [", 1)), "yaml")
	if err := v.Hook()(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func TestValidatorsConfigNamesEveryBadCommand(t *testing.T) {
	t.Parallel()
	err := ValidatorsConfig{Commands: map[string][]string{
		"json": {"jq", "."}, "empty": {}, "blank": {""}, "bad name": {"x"}}}.Validate()
	for _, want := range []string{"validators.json: json is a built-in", "validators.empty: the argv is empty",
		"validators.blank: the argv is empty", "validators.bad name:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	_, err = NewValidators(ValidatorsConfig{Commands: map[string][]string{"lint": {"regen-no-such-linter"}}})
	if err == nil || !strings.Contains(err.Error(), "validators.lint") || !strings.Contains(err.Error(), "regen-no-such-linter") {
		t.Fatalf("a missing executable: %v", err)
	}
	c := ValidatorsConfig{Commands: map[string][]string{"lint": {"x"}}}
	if !c.Known("lint") || !c.Known("gofmt") || c.Known("nope") {
		t.Fatal("Known")
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func commandValidators(t *testing.T, timeout time.Duration, cmds map[string][]string) *Validators {
	t.Helper()
	v, err := NewValidators(ValidatorsConfig{Commands: cmds, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCommandValidatorRunsOnACopyNamedLikeTheArtifact(t *testing.T) {
	t.Parallel()
	// $1 is the flag, $2 the file: {file} is replaced, nothing appended.
	check := script(t, `test "$1" = --strict && test "$#" = 2 || { echo "bad args: $*"; exit 2; }
test "$(basename "$2")" = b.go || { echo "bad name: $2"; exit 2; }
grep -q ok "$2" && exit 0
echo "$2:1:1: no ok in here"; echo second line; exit 1`)
	v := commandValidators(t, 0, map[string][]string{"okcheck": {check, "--strict", FileArg}})
	if err := v.Validate(context.Background(), artifact("a/b.go", "ok", 1), "okcheck"); err != nil {
		t.Fatalf("accepted content refused: %v", err)
	}
	err := v.Validate(context.Background(), artifact("a/b.go", "ko", 1), "okcheck")
	requireRefused(t, err, "okcheck", "a/b.go:1:1: no ok in here; second line")
	if strings.Contains(err.Error(), os.TempDir()) {
		t.Errorf("the message names the temporary file: %v", err)
	}
}

func TestCommandValidatorGetsTheFileLastWithoutAPlaceholder(t *testing.T) {
	t.Parallel()
	check := script(t, `test "$1" = -v && test "$(basename "$2")" = c.yaml || { echo "args: $*"; exit 1; }`)
	v := commandValidators(t, 0, map[string][]string{"c": {check, "-v"}})
	if err := v.Validate(context.Background(), artifact("c.yaml", "x", 1), "c"); err != nil {
		t.Fatal(err)
	}
}

func TestCommandValidatorMessageIsBounded(t *testing.T) {
	t.Parallel()
	check := script(t, `i=0; while [ $i -lt 2000 ]; do echo "line $i of a long complaint about the file"; i=$((i+1)); done; exit 1`)
	v := commandValidators(t, 0, map[string][]string{"loud": {check}})
	var ve *ValidationError
	err := v.Validate(context.Background(), artifact("x", "x", 1), "loud")
	if !errors.As(err, &ve) || strings.Count(ve.Message, "line ") != messageLines || len(ve.Message) > messageMax+3 {
		t.Fatalf("message of %d bytes: %q (%v)", len(ve.Message), ve.Message, err)
	}
	silent := commandValidators(t, 0, map[string][]string{"silent": {script(t, "exit 3")}})
	requireRefused(t, silent.Validate(context.Background(), artifact("x", "x", 1), "silent"), "silent", "exit status 3")
}

func TestCommandValidatorThatCannotAnswerIsRetried(t *testing.T) {
	t.Parallel()
	slow := script(t, "sleep 30")
	v := commandValidators(t, 50*time.Millisecond, map[string][]string{"slow": {slow}, "crash": {script(t, "kill -9 $$")}})
	for _, name := range []string{"slow", "crash"} {
		err := v.Validate(context.Background(), artifact("x", "x", 1), name)
		if !errors.Is(err, ErrValidatorUnavailable) || wire.IsPermanent(err) {
			t.Errorf("%s: err = %v, want ErrValidatorUnavailable, not permanent", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	long := commandValidators(t, time.Minute, map[string][]string{"slow": {slow}})
	if err := long.Validate(ctx, artifact("x", "x", 1), "slow"); !errors.Is(err, context.Canceled) || wire.IsPermanent(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Not parallel: t.Setenv.
func TestCommandValidatorDoesNotSeeRegensEnvironment(t *testing.T) {
	t.Setenv("REGEN_NATS_PASSWORD", "s3cret")
	check := script(t, `test -z "$REGEN_NATS_PASSWORD" || { echo leaked; exit 1; }; test -n "$PATH"`)
	v := commandValidators(t, 0, map[string][]string{"env": {check}})
	if err := v.Validate(context.Background(), artifact("x", "x", 1), "env"); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedArtifactLeavesThePreviousOneAndTheLedger checks, on the real
// Dir and Ledger, that an artifact a validator refuses is not written,
// the previous one stays, the ledger is untouched (no claim left behind),
// nothing reports a write, and the next valid render deploys.
func TestRefusedArtifactLeavesThePreviousOneAndTheLedger(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	root := t.TempDir()
	l := NewLedger(b.KV(t, "LEDGER"), "dir:"+root)
	d := &Dir{Root: root, Ledger: l, Validate: builtinValidators(t).Hook()}
	goArtifact := func(content string, rev uint64) wire.Artifact {
		a := artifact("types/a.go", content, rev)
		a.Validators = []string{"go"}
		return a
	}
	mustDeploy(t, b.Ctx, d, goArtifact("package types\n", 10), true)
	before, beforeRev, err := l.Get(b.Ctx, "types/a.go")
	if err != nil {
		t.Fatal(err)
	}
	started := 0
	ctx := wire.WithDeployStarted(b.Ctx, func() { started++ })
	_, err = d.Deploy(ctx, goArtifact("package types\nfunc {", 11))
	requireRefused(t, err, "go", "2:6:")
	if !strings.Contains(err.Error(), "deploy types/a.go: validate: go: 2:6:") {
		t.Errorf("err = %v, want the path and the validator named", err)
	}
	if got := readFile(t, filepath.Join(root, "types", "a.go")); got != "package types\n" || started != 0 {
		t.Fatalf("after a refusal the file is %q and %d writes started", got, started)
	}
	if _, err := os.Stat(filepath.Join(root, PrevDir, "types", "a.go")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refusal moved the deployed file to the previous versions: %v", err)
	}
	after, afterRev, err := l.Get(b.Ctx, "types/a.go")
	if err != nil || afterRev != beforeRev || after != before {
		t.Fatalf("ledger changed by a refusal: %+v rev %d, was %+v rev %d (%v)", after, afterRev, before, beforeRev, err)
	}
	mustDeploy(t, b.Ctx, d, goArtifact("package types\n\nvar A = 1\n", 11), true) // same revision, now valid
	if readFile(t, filepath.Join(root, PrevDir, "types", "a.go")) != "package types\n" {
		t.Fatal("the valid render did not keep the previous version")
	}
}

// TestATargetsValidatorsGuardItsObjects checks the target's own
// validators on the object-store deployer: a refused artifact is not put
// and leaves no ledger record.
func TestATargetsValidatorsGuardItsObjects(t *testing.T) {
	t.Parallel()
	b := testkit.Setup(t)
	store, err := b.JS.CreateObjectStore(b.Ctx, jetstream.ObjectStoreConfig{Bucket: "ARTIFACTS"})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLedger(b.KV(t, "LEDGER"), "objectstore:ARTIFACTS")
	d := &ObjectStore{Store: store, Ledger: l, Validate: builtinValidators(t).Hook("json")}
	_, err = d.Deploy(b.Ctx, artifact("data/a.json", `{"a":`, 1))
	requireRefused(t, err, "json", "line 1, column 6")
	if _, err := store.GetInfo(b.Ctx, "data/a.json"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("refused object was put: %v", err)
	}
	if _, rev, err := l.Get(b.Ctx, "data/a.json"); rev != 0 || err != nil {
		t.Fatalf("refusal left a ledger record (rev %d, %v)", rev, err)
	}
	mustDeploy(t, b.Ctx, d, artifact("data/a.json", `{"a":1}`, 1), true)
}
