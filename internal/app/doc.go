// Package app assembles a regen replica from its configuration: the
// embedded nats-server (when no URL is given), the connection,
// provisioning, the graph or exec engine, the deployers, the breakers and the
// orchestrator. cmd/regen and the integration tests both start replicas
// through it.
package app
