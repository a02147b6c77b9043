package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// SweepStrays dead-letters (reason wire.ReasonBadNATSSubject) and removes
// the REGEN_CHANGES messages whose priority token is none of the four
// levels, and returns how many it moved. The stream takes regen.changes.>
// but the per-level consumers only regen.changes.<level>.>, so no
// consumer ever delivers such a message: without this sweep it would
// stay in the work queue for good. Safe to run from many replicas at
// once (a dead letter is deduplicated by event id; a message another
// replica already removed is skipped).
func SweepStrays(ctx context.Context, js jetstream.JetStream, dlq *DeadLetters) (int, error) {
	st, err := js.Stream(ctx, wire.ChangesStream)
	if err != nil {
		return 0, fmt.Errorf("sweep strays: stream: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(wire.ChangesSubjects))
	if err != nil {
		return 0, fmt.Errorf("sweep strays: stream info: %w", err)
	}
	n := 0
	for subj := range info.State.Subjects {
		if !stray(subj) {
			continue
		}
		moved, err := sweepSubject(ctx, st, dlq, subj)
		n += moved
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// stray reports whether subj's priority token is not a level.
func stray(subj string) bool {
	rest, _ := strings.CutPrefix(subj, "regen.changes.")
	prio, _, _ := strings.Cut(rest, ".")
	return !wire.Priority(prio).Valid()
}

// sweepSubject moves every message of subj, the last first.
func sweepSubject(ctx context.Context, st jetstream.Stream, dlq *DeadLetters, subj string) (int, error) {
	for n := 0; ; n++ {
		raw, err := st.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("sweep strays: %s: %w", subj, err)
		}
		cause := fmt.Errorf("priority of NATS subject %q is not critical, high, normal or low", subj)
		if err := dlq.DeadLetter(ctx, &storedMsg{raw: raw}, wire.ReasonBadNATSSubject, cause); err != nil {
			return n, fmt.Errorf("sweep strays: %s: %w", subj, err)
		}
		if err := st.DeleteMsg(ctx, raw.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return n, fmt.Errorf("sweep strays: %s: delete: %w", subj, err)
		}
	}
}
