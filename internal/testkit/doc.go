// Package testkit is the test harness: real embedded nats-servers on free
// loopback ports (through bus/embedded), JetStream connections, KV buckets,
// condition waits (WaitFor), the change helpers the workers' tests share
// (LoadChanges, NodeChange, EdgeChange), and helpers for the process-level
// tests (Build, FreeAddr, Client, ReadTelemetry, DeploysPerEvent). The
// 3-node cluster of the fault suite runs as processes in
// internal/faultsuite. Only tests import it.
package testkit
