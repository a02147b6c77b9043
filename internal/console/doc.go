// Package console owns the live web console of a regen deployment: the
// page (embedded from assets/, no network access needed), its JSON API
// and the Server-Sent Events stream that keeps it current.
//
// A Console reads everything from NATS, so one console shows a whole
// cluster: the telemetry stream REGEN_TELEMETRY (an ordered consumer from
// Window ago, then live) feeds bounded in-memory rings (per-bucket event
// and cycle-time series, the telemetry feed, recent deployments, cost
// reports, the last scaling advice); the replica registry REGEN_REPLICAS,
// the level consumers' infos and REGEN_DLQ are read every Poll. An event's
// story is read from the telemetry stream on demand, bounded.
//
// Mutating requests (dead-letter replay and purge, pause and resume of a
// priority level) are POST only and need the console token (Config.Token)
// in an "Authorization: Bearer TOKEN" or "X-Regen-Token" header.
//
//	c, err := console.New(console.Config{Conn: nc, JetStream: js, Token: token})
//	if err != nil { ... }
//	c.Start(ctx)
//	defer c.Stop(context.Background())
//	http.Handle("/", c)
package console
