package graph

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/regen-dev/regen/internal/testkit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setup starts a server for the test.
func setup(t *testing.T) *testkit.Bundle { t.Helper(); return testkit.Setup(t) }

// newModel is a model in a fresh bucket of b.
func newModel(t *testing.T, b *testkit.Bundle, bucket string) *Model {
	t.Helper()
	return NewModel(b.KV(t, bucket))
}
