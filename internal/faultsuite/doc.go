// Package faultsuite is regen's reliability suite: it builds the regen and
// nats-server binaries and drives them as real processes on loopback
// ports through replica crashes (kill -9), server restarts, cluster
// leader failover, backpressure, a soak with injected engine errors and
// hangs, and a network partition, checking that no event is lost and none
// is deployed twice. It also measures the price of `--sync always`.
//
// The tests carry the build tag `faults`, so `make test` skips them:
//
//	make test-faults                  # go test -tags faults -race ./internal/faultsuite/
//	SOAK=10m FAULT_EVENTS=10000 make test-faults
//
// Every test prints its measurements as `FIGURE name=value` lines.
// docs/reliability.md explains the tests and records their figures.
package faultsuite
