package benchkit_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/benchkit"
)

// TestMain doubles as the RSS child of the smoke test: the suite starts
// this test binary with benchkit.ChildEnv set.
func TestMain(m *testing.M) {
	if benchkit.IsChild() {
		if err := benchkit.RunChild(context.Background(), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
