// Package breaker owns regen's protection of the components it calls: one
// Guard per component ("engine", "deployer", "deploy:dir", ...) combines a
// gobreaker circuit (rolling-window failure ratio, open timeout, half-open
// probes), a per-call timeout and in-process retries of transient failures
// with jittered exponential backoff.
//
// Do classifies every outcome for the orchestrator's acknowledgement policy:
//
//   - nil: Ack.
//   - wire.IsPermanent(err): Term + DLQ. Mark errors with wire.Permanent,
//     or recognise sentinels from other packages with WithPermanent.
//     Permanent errors and the caller's cancellations never count against
//     the circuit.
//   - errors.Is(err, ErrOpen): the circuit rejected the call without running
//     it; NakWithDelay(OpenError.RetryAfter). Not a failure of the event.
//   - any other error (timeouts included): transient, after in-process
//     retries; NakWithDelay(Backoff(deliveries, initial, max)).
//
// State changes are logged and passed to WithStateChange hooks, for the
// breaker_state_changed telemetry event.
//
//	g, err := breaker.New("engine", breaker.Config{},
//		breaker.WithLogger(logger),
//		breaker.WithPermanent(func(err error) bool { return errors.Is(err, sql.ErrNoRows) }),
//		breaker.WithStateChange(func(sc breaker.StateChange) { telemetry.Publish(sc) }))
//	if err != nil {
//		return err
//	}
//	err = g.Do(ctx, func(ctx context.Context) error { return engine.Regenerate(ctx, ev) })
//	var open *breaker.OpenError
//	switch {
//	case err == nil:
//		msg.Ack()
//	case errors.As(err, &open):
//		msg.NakWithDelay(open.RetryAfter)
//	case wire.IsPermanent(err):
//		msg.Term()
//	default:
//		msg.NakWithDelay(breaker.Backoff(deliveries, time.Second, time.Minute))
//	}
package breaker
