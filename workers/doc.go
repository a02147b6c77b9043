// Package workers is the home of regen's built-in engines and deployers;
// the code lives in its sub-packages, one per job:
//
//   - workers/graph: the graph engine. The source model in a JetStream KV
//     bucket (last writer wins per property and per edge, by stream
//     sequence), the templates with their front matter, the view a
//     template sees and its functions.
//   - workers/exec: the exec engine, a generator command run per change in
//     a scratch directory.
//   - workers/deploy: the dir and object-store deployers, the deploy
//     ledger that makes every write happen once per content and never over
//     a newer revision, and the fan-out to several targets.
//
// Every failure that no retry can fix matches wire.ErrPermanent.
package workers
