package breaker_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
)

func TestOpenErrorMatchesErrOpen(t *testing.T) {
	t.Parallel()
	var err error = &breaker.OpenError{Component: "deployer"}
	mustEqual(t, "Is ErrOpen", errors.Is(fmt.Errorf("deploy: %w", err), breaker.ErrOpen), true)
	mustEqual(t, "Is ErrPermanent", errors.Is(err, wire.ErrPermanent), false)
}
