//go:build faults

package faultsuite

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/testkit"
)

// bins holds the binaries TestMain builds and the example templates.
var bins struct {
	regen, natsServer, templates string
}

// TestMain builds regen and nats-server (from the module cache: nothing is
// downloaded), runs the suite, then fails if the test process leaked a
// goroutine.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "regen-faultsuite")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildAll(dir string) error {
	bins.regen = filepath.Join(dir, "regen")
	bins.natsServer = filepath.Join(dir, "nats-server")
	for pkg, out := range map[string]string{
		"github.com/regen-dev/regen/cmd/regen": bins.regen,
		"github.com/nats-io/nats-server/v2":    bins.natsServer,
	} {
		if err := testkit.Build(pkg, out); err != nil {
			return err
		}
	}
	var err error
	bins.templates, err = filepath.Abs("../../examples/templates")
	return err
}
