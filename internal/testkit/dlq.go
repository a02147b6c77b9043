package testkit

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/regen-dev/regen/bus"
)

// DeadLetters reads every dead letter in REGEN_DLQ; an error (the stream
// not there yet) is an empty list.
func DeadLetters(t testing.TB, js jetstream.JetStream) []bus.DeadLetter {
	t.Helper()
	var out []bus.DeadLetter
	for dl, err := range bus.NewDeadLetters(js).All(context.Background(), 0) {
		if err != nil {
			return nil
		}
		out = append(out, dl)
	}
	return out
}
