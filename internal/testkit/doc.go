// Package testkit is the test harness: real embedded nats-servers (single
// node or a 3-node cluster on loopback), JetStream connections, and
// condition waits. Only tests import it.
package testkit
