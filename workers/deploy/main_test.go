package deploy

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/testkit"
)

// Everything but upstream's known leak (an object-store Put) must not leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.KnownLeaks()...)
}
