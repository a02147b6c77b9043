package breaker_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/regen-dev/regen/breaker"
)

func TestPermanent(t *testing.T) {
	t.Parallel()
	mustEqual(t, "Permanent(nil)", breaker.Permanent(nil), error(nil))
	mustEqual(t, "IsPermanent(nil)", breaker.IsPermanent(nil), false)

	base := errors.New("template missing")
	p := breaker.Permanent(base)
	mustEqual(t, "Is ErrPermanent", errors.Is(p, breaker.ErrPermanent), true)
	mustEqual(t, "Is base", errors.Is(p, base), true)
	mustEqual(t, "IsPermanent", breaker.IsPermanent(p), true)
	mustEqual(t, "message", p.Error(), base.Error())
	mustEqual(t, "idempotent", breaker.Permanent(p), p)

	wrapped := fmt.Errorf("render: %w", p)
	mustEqual(t, "IsPermanent(wrapped)", breaker.IsPermanent(wrapped), true)
	mustEqual(t, "IsPermanent(base)", breaker.IsPermanent(base), false)

	var target *customError
	mustEqual(t, "As through Permanent", errors.As(breaker.Permanent(&customError{"x"}), &target), true)
}

type customError struct{ s string }

func (e *customError) Error() string { return e.s }

func TestOpenErrorMatchesErrOpen(t *testing.T) {
	t.Parallel()
	var err error = &breaker.OpenError{Component: "deployer"}
	mustEqual(t, "Is ErrOpen", errors.Is(fmt.Errorf("deploy: %w", err), breaker.ErrOpen), true)
	mustEqual(t, "Is ErrPermanent", errors.Is(err, breaker.ErrPermanent), false)
}
