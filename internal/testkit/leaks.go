package testkit

import "go.uber.org/goleak"

// KnownLeaks are the goroutine leaks of upstream code that goleak must
// ignore, and no other: nats.go v1.55's ObjectStore.Put starts
// resetPendingAcksOnReconnect for a throw-away JetStream context and
// removes its status channel at the end of Put; when the goroutine is
// scheduled after that removal it reads a nil channel and blocks forever
// (jetstream/publish.go:567 vs jetstream.go:1326), one goroutine per
// unlucky Put (docs/known-issues.md). Packages whose tests use an object
// store pass these to goleak.VerifyTestMain.
func KnownLeaks() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"),
	}
}
