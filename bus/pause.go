package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// PauseForever is the pause PauseLevel applies when until is zero: far
// enough to mean "until resumed".
const PauseForever = 100 * 365 * 24 * time.Hour

// PauseLevel pauses the consumer of level p (base: the configured consumer
// name) until until (zero: until ResumeLevel). The pause is the server's:
// no replica is delivered that level's events meanwhile, the others go on.
// It returns the time the pause ends.
func PauseLevel(ctx context.Context, js jetstream.JetStream, base string, p wire.Priority, until time.Time) (time.Time, error) {
	if until.IsZero() {
		until = time.Now().Add(PauseForever)
	}
	name := LevelConsumer(base, p)
	res, err := js.PauseConsumer(ctx, wire.ChangesStream, name, until)
	if err != nil {
		return time.Time{}, fmt.Errorf("pause consumer %s: %w", name, err)
	}
	return res.PauseUntil, nil
}

// ResumeLevel resumes the consumer of level p.
func ResumeLevel(ctx context.Context, js jetstream.JetStream, base string, p wire.Priority) error {
	name := LevelConsumer(base, p)
	if _, err := js.ResumeConsumer(ctx, wire.ChangesStream, name); err != nil {
		return fmt.Errorf("resume consumer %s: %w", name, err)
	}
	return nil
}

// LevelPaused reports whether the consumer of level p is paused.
func LevelPaused(ctx context.Context, js jetstream.JetStream, base string, p wire.Priority) (bool, error) {
	name := LevelConsumer(base, p)
	c, err := js.Consumer(ctx, wire.ChangesStream, name)
	if err != nil {
		return false, fmt.Errorf("consumer %s: %w", name, err)
	}
	return c.CachedInfo().Paused, nil
}
