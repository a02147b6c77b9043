package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidatorsFromFileEnvAndFlags(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "validators:\n  govet: [go, vet]\n  lint: [golint, '{file}']\n"+
		"deploy: [dir:./out, objectstore:B]\ndeploy_validate:\n  dir:./out: [go, govet]\nvalidator_timeout: 3s\n")
	cfg, err := load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Validation.Validators["lint"], []string{"golint", "{file}"}) || !slices.Equal(cfg.Validation.DeployValidate["dir:./out"], []string{"go", "govet"}) ||
		cfg.Validation.ValidatorTimeout != 3*time.Second {
		t.Fatalf("from the file: %v %v %s", cfg.Validation.Validators, cfg.Validation.DeployValidate, cfg.Validation.ValidatorTimeout)
	}
	env := map[string]string{"REGEN_DEPLOY_VALIDATE": "dir:./out=json; objectstore:B=yaml,lint", "REGEN_VALIDATOR_TIMEOUT": "4s"}
	cfg, err = load(t, []string{"--config", file, "--validator", "lint=golint -set_exit_status", "--validator", "x=xmllint --noout"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Validation.Validators["govet"]; ok || !slices.Equal(cfg.Validation.Validators["lint"], []string{"golint", "-set_exit_status"}) ||
		!slices.Equal(cfg.Validation.Validators["x"], []string{"xmllint", "--noout"}) {
		t.Fatalf("flags do not replace the file's validators: %v", cfg.Validation.Validators)
	}
	if !slices.Equal(cfg.Validation.DeployValidate["objectstore:B"], []string{"yaml", "lint"}) || !slices.Equal(cfg.Validation.DeployValidate["dir:./out"], []string{"json"}) ||
		cfg.Validation.ValidatorTimeout != 4*time.Second {
		t.Fatalf("env: %v %s", cfg.Validation.DeployValidate, cfg.Validation.ValidatorTimeout)
	}
}

func TestBadValidatorsAreAllNamed(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "validators:\n  empty: []\n  json: [jq]\ndeploy_validate:\n  dir:./elsewhere: [go]\n  dir:./out: [nope]\n")
	_, err := load(t, []string{"--config", file, "--validator-timeout", "0s"}, nil)
	for _, want := range []string{"validators.empty: the argv is empty", "validators.json: json is a built-in validator",
		"deploy_validate.dir:./elsewhere: not a deploy target (deploy: dir:./out)",
		`deploy_validate.dir:./out: unknown validator "nope" (built in: go, gofmt, json, yaml; configured: empty, json)`,
		"validator_timeout: must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
	if _, err := load(t, []string{"--validator", "no-equals-sign"}, nil); err == nil || !strings.Contains(err.Error(), "validators (flag --validator)") {
		t.Fatalf("malformed entry: %v", err)
	}
}

func TestValidatorsYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, []string{"--validator", "lint=golint {file}", "--deploy-validate", "dir:./out=go,lint"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := YAML(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := load(t, []string{"--config", writeFile(t, string(out))}, nil)
	if err != nil || !slices.Equal(back.Validation.Validators["lint"], []string{"golint", "{file}"}) ||
		!slices.Equal(back.Validation.DeployValidate["dir:./out"], []string{"go", "lint"}) {
		t.Fatalf("printed config does not load back: %v\n%s", err, out)
	}
}
