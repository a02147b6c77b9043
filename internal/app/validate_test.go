package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/bus"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/internal/config"
	"github.com/regen-dev/regen/internal/testkit"
	"github.com/regen-dev/regen/workers/deploy"

	"github.com/nats-io/nats.go/jetstream"
)

// goCheckTemplate renders the node's "code" property as a Go file and
// asks for the go validator.
const goCheckTemplate = "---\nname: go-check\noutput: thing.go\nvalidate: [go]\n---\npackage types\n\n{{ .Node.First \"code\" }}\n"

// validationBundle is a replica whose templates are goCheckTemplate.
func validationBundle(t *testing.T, mod func(*config.Config)) *bundle {
	t.Helper()
	templates := t.TempDir()
	if err := os.WriteFile(filepath.Join(templates, "go-check.tmpl"), []byte(goCheckTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	return setup(t, func(c *config.Config) {
		c.Templates = templates
		if mod != nil {
			mod(c)
		}
	})
}

// publishCode publishes the n-th event setting the node's code and waits
// until the replica processed it.
func publishCode(t *testing.T, b *bundle, svc *Service, n int, code string) {
	t.Helper()
	typ := "node_updated"
	if n == 1 {
		typ = "node_added"
	}
	publish(t, b.js, [][]byte{fmt.Appendf(nil, `{"id":"code-%d","change_type":%q,"subject":"urn:test:thing","properties":{"code":%q}}`,
		n, typ, code)})
	o := svc.Orchestrator()
	testkit.WaitFor(t, 30*time.Second, fmt.Sprintf("event %d processed", n), func() bool { return o.Stats().EventsProcessed >= int64(n) })
}

// refusalScenario deploys valid Go, then invalid Go, then valid Go again,
// and checks that the invalid render was dead-lettered with reason
// validation_failed and changed neither the file nor the ledger. It
// returns false, having checked nothing, when the invalid render was
// deployed (no validator asked for).
func refusalScenario(t *testing.T, b *bundle) bool {
	t.Helper()
	svc := b.start(t)
	file := filepath.Join(b.out, "thing.go")
	publishCode(t, b, svc, 1, "var X = 1")
	ledger := deploy.NewLedger(ledgerKV(t, b), "dir:"+b.out)
	before, beforeRev, err := ledger.Get(context.Background(), "thing.go")
	if err != nil {
		t.Fatal(err)
	}
	publishCode(t, b, svc, 2, "func {")
	if strings.Contains(readString(t, file), "func {") {
		return false
	}
	requireValidationDeadLetter(t, b, "code-2")
	if got := readString(t, file); !strings.Contains(got, "var X = 1") {
		t.Fatalf("after the refusal thing.go holds %q", got)
	}
	if after, afterRev, err := ledger.Get(context.Background(), "thing.go"); err != nil || after != before || afterRev != beforeRev {
		t.Fatalf("the refusal changed the ledger: %+v rev %d, was %+v rev %d (%v)", after, afterRev, before, beforeRev, err)
	}
	publishCode(t, b, svc, 3, "var X = 3")
	if got := readString(t, file); !strings.Contains(got, "var X = 3") {
		t.Fatalf("the next valid render was not deployed: %q", got)
	}
	return true
}

func requireValidationDeadLetter(t *testing.T, b *bundle, id string) {
	t.Helper()
	var dls []bus.DeadLetter
	testkit.WaitFor(t, 10*time.Second, "a dead letter", func() bool { dls = testkit.DeadLetters(t, b.js); return len(dls) > 0 })
	dl := dls[0]
	if len(dls) != 1 || dl.ID != id || dl.Reason != wire.ReasonValidation || !strings.Contains(dl.Error, "validate: go: 3:6: expected") {
		t.Fatalf("dead letters %+v, want one for %s with reason %s and the go validator's message", dls, id, wire.ReasonValidation)
	}
}

func ledgerKV(t *testing.T, b *bundle) jetstream.KeyValue {
	t.Helper()
	kv, err := b.js.KeyValue(context.Background(), wire.ArtifactBucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func readString(t *testing.T, p string) string {
	t.Helper()
	body, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// A target's own validators refuse an artifact whatever its template asks.
func TestATargetsValidatorRefusesInvalidGo(t *testing.T) {
	t.Parallel()
	b := validationBundle(t, func(c *config.Config) {
		c.Validation.DeployValidate = map[string][]string{c.Deploy[0]: {"go"}}
	})
	if !refusalScenario(t, b) {
		t.Fatal("the target's go validator let invalid Go through")
	}
}

// The template's own validate list refuses an artifact.
func TestATemplatesValidatorRefusesInvalidGo(t *testing.T) {
	t.Parallel()
	if !refusalScenario(t, validationBundle(t, nil)) {
		t.Fatal("the template's go validator let invalid Go through")
	}
}

func TestStartRefusesAValidatorCommandNotFound(t *testing.T) {
	t.Parallel()
	b := validationBundle(t, func(c *config.Config) {
		c.Validation.Validators = map[string][]string{"lint": {"regen-no-such-linter"}}
	})
	_, err := Start(testkit.Context(t, 30*time.Second), b.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "validators.lint") {
		t.Fatalf("start = %v, want the missing command named", err)
	}
}
