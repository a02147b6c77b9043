package console

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testkit.KnownLeaks()...)
}
