package wire

// Stream, subject and bucket names (the consumer's is ConsumerDefault).
// Subjects are part of the public API (see README "Subjects").
const (
	ChangesStream    = "REGEN_CHANGES"
	ChangesSubjects  = "regen.changes.>"
	TelemetryStream  = "REGEN_TELEMETRY"
	TelemetrySubject = "telemetry.>"
	DLQStream        = "REGEN_DLQ"
	DLQSubjects      = "regen.dlq.>"
	// ModelBucket is the KV bucket holding the source model, one key per node.
	ModelBucket = "REGEN_MODEL"
	// ArtifactBucket is the KV bucket recording what was deployed (hash, revision).
	ArtifactBucket = "REGEN_LEDGER"
	// ObjectStoreDefault is the object-store bucket of the objectstore deployer.
	ObjectStoreDefault = "REGEN_ARTIFACTS"
	// ReplicasBucket is the KV bucket where every replica publishes its
	// stats snapshot (one key per replica, expiring with the bucket TTL).
	ReplicasBucket = "REGEN_REPLICAS"
	// LeaderBucket is the KV bucket of the leadership lease (one key,
	// expiring with the bucket TTL unless its holder renews it): the
	// leader computes the cluster's scaling advice.
	LeaderBucket = "REGEN_LEADER"
)

// ChangeSubject is regen.changes.<priority>.<change_type>.
func ChangeSubject(p Priority, t ChangeType) string {
	return "regen.changes." + string(p) + "." + string(t)
}

// TelemetrySubjectFor is telemetry.<event_type>.
func TelemetrySubjectFor(t TelemetryType) string { return "telemetry." + string(t) }

// DLQSubject is regen.dlq.<change_type>, or regen.dlq.invalid when the
// payload has no valid change type.
func DLQSubject(t ChangeType) string {
	if !t.Valid() {
		return "regen.dlq.invalid"
	}
	return "regen.dlq." + string(t)
}

// LevelSubjects is regen.changes.<priority>.>, the filter of that
// priority level's consumer.
func LevelSubjects(p Priority) string { return "regen.changes." + string(p) + ".>" }
