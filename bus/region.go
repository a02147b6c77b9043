package bus

import (
	"errors"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go/jetstream"
)

// IngestStream is the stream that captures the change events published in
// a region (subjects regen.changes.>) when ProvisionConfig.Region is set.
// It keeps them for IngestMaxAge (limits retention) so that the other
// regions, whose REGEN_CHANGES source it, can catch up after an outage.
const IngestStream = "REGEN_INGEST"

// IngestMaxAgeDefault is the default ProvisionConfig.IngestMaxAge: the
// longest outage after which a region still catches up on its peers'
// events (7 days).
const IngestMaxAgeDefault = 7 * 24 * time.Hour

// JSAPIPrefix is the API prefix of JetStream domain domain,
// $JS.<domain>.API, by which a stream sources from another domain.
func JSAPIPrefix(domain string) string { return "$JS." + domain + ".API" }

// regional reports whether cfg places the deployment in a region.
func (c ProvisionConfig) regional() bool { return c.Region != "" }

// regionStreams are REGEN_INGEST and REGEN_CHANGES of a region: the
// ingest stream captures the region's own publishes; REGEN_CHANGES, the
// work queue the replicas consume, has no subjects of its own and
// sources the local ingest stream and every peer's, so that every region
// processes every event, each source in its origin's order. The ingest
// stream comes first so that REGEN_CHANGES finds it on its first attempt
// to source it (the server retries a failed one only after a backoff of
// 10s and more); provisionStreams creates it after REGEN_CHANGES when
// REGEN_CHANGES still captures regen.changes.> (a deployment moving to
// regions), which makes it overlap.
func regionStreams(cfg ProvisionConfig) []jetstream.StreamConfig {
	changes := jetstream.StreamConfig{Name: wire.ChangesStream, Retention: jetstream.WorkQueuePolicy,
		Duplicates: cfg.Dedupe, Replicas: cfg.Replicas, Storage: cfg.Storage, Sources: regionSources(cfg),
		Description: "regen change events of every region (work queue, sourced from REGEN_INGEST)"}
	ingest := jetstream.StreamConfig{Name: IngestStream, Subjects: []string{wire.ChangesSubjects},
		Retention: jetstream.LimitsPolicy, MaxAge: cfg.IngestMaxAge, Discard: jetstream.DiscardOld,
		Duplicates: cfg.Dedupe, Replicas: cfg.Replicas, Storage: cfg.Storage,
		Description: "regen change events published in region " + cfg.Region}
	return []jetstream.StreamConfig{ingest, changes}
}

// errCodeSubjectOverlap is JetStream's "subjects overlap with an existing
// stream" (JSStreamSubjectOverlapErr).
const errCodeSubjectOverlap = 10065

func isSubjectOverlap(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeSubjectOverlap
}

// regionSources are the local ingest stream and each peer's, the peers'
// without artifact_stale: a derived re-render names a model revision of
// the region that published it, and every region derives its own.
func regionSources(cfg ProvisionConfig) []*jetstream.StreamSource {
	out := []*jetstream.StreamSource{{Name: IngestStream}}
	for _, peer := range cfg.Peers {
		out = append(out, &jetstream.StreamSource{Name: IngestStream,
			External:          &jetstream.ExternalStream{APIPrefix: JSAPIPrefix(peer)},
			SubjectTransforms: peerFilters()})
	}
	return out
}

// peerFilters select every change type but artifact_stale, at any level
// (an unknown level is dead-lettered by each region's stray sweep).
func peerFilters() []jetstream.SubjectTransformConfig {
	var out []jetstream.SubjectTransformConfig
	for _, t := range wire.ChangeTypes {
		if t != wire.ArtifactStale {
			out = append(out, jetstream.SubjectTransformConfig{
				Source: strings.TrimSuffix(wire.ChangesSubjects, ">") + "*." + string(t)})
		}
	}
	return out
}

// RegionLocalSubjects are the subjects that must not cross a leafnode
// between regions (deny_imports and deny_exports of the leafnode
// remote). A region's publishes reach its peers only through its ingest
// stream; its telemetry and dead letters stay in it; so do acks and
// JetStream advisories, whose subjects name a stream and consumer but no
// domain: every region has a REGEN_CHANGES with the same consumers, and
// an ack from one region would settle the other's message of that
// sequence (and the reaper acts on advisories by sequence). Object-store
// chunks ($O.>) stay in their region too. nats-server itself denies
// $JS.API.>, $KV.> and $OBJ.> between different JetStream domains;
// sourcing uses $JS.<domain>.API.>, $JSC.>, $JS.FC.> and the $JS.S.>
// delivery subjects, which must cross.
var RegionLocalSubjects = []string{"regen.>", "telemetry.>", "$JS.ACK.>", "$JS.EVENT.>", "$O.>"}
