package wire_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/regen-dev/regen/bus/wire"
)

func TestPermanent(t *testing.T) {
	t.Parallel()
	mustEqual(t, "Permanent(nil)", wire.Permanent(nil), error(nil))
	mustEqual(t, "IsPermanent(nil)", wire.IsPermanent(nil), false)

	base := errors.New("template missing")
	p := wire.Permanent(base)
	mustEqual(t, "Is ErrPermanent", errors.Is(p, wire.ErrPermanent), true)
	mustEqual(t, "Is base", errors.Is(p, base), true)
	mustEqual(t, "IsPermanent", wire.IsPermanent(p), true)
	mustEqual(t, "message", p.Error(), base.Error())
	mustEqual(t, "idempotent", wire.Permanent(p), p)

	wrapped := fmt.Errorf("render: %w", p)
	mustEqual(t, "IsPermanent(wrapped)", wire.IsPermanent(wrapped), true)
	mustEqual(t, "IsPermanent(base)", wire.IsPermanent(base), false)

	var target *customError
	mustEqual(t, "As through Permanent", errors.As(wire.Permanent(&customError{"x"}), &target), true)
}

type customError struct{ s string }

func (e *customError) Error() string { return e.s }

func TestReasonOf(t *testing.T) {
	t.Parallel()
	_, invalid := wire.DecodeChangeEvent([]byte("{"), 0)
	mustEqual(t, "invalid event", wire.ReasonOf(fmt.Errorf("decode: %w", invalid)), wire.ReasonBadJSON)
	mustEqual(t, "invalid is permanent", wire.IsPermanent(invalid), true)
	mustEqual(t, "with reason", wire.ReasonOf(wire.PermanentReason("path_too_long", errors.New("x"))), "path_too_long")
	mustEqual(t, "plain permanent", wire.ReasonOf(wire.Permanent(errors.New("x"))), wire.ReasonPermanent)
	mustEqual(t, "reason kept", wire.ReasonOf(wire.PermanentReason("b", wire.PermanentReason("a", errors.New("x")))), "a")
}

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
