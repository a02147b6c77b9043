package wire

// CostReport is the telemetry type of a replica's cost accounting over one
// health interval (CostReportData).
const CostReport TelemetryType = "cost_report"

// The stages of one event's processing, as keys of CostTotals.StageSeconds.
const (
	StageDecode   = "decode"   // payload checks and JSON decoding
	StageModel    = "model"    // applying the change to the model (KV reads and writes)
	StageRender   = "render"   // running the templates
	StageValidate = "validate" // the artifacts' validators
	StageDeploy   = "deploy"   // writing the artifacts, with the ledger
	StageAck      = "ack"      // acking the message, until the server confirms it
)

// Stages lists the stages in processing order.
var Stages = []string{StageDecode, StageModel, StageRender, StageValidate, StageDeploy, StageAck}

// CostTotals is what a set of events cost: how many, their CPU time (exact
// for exec-engine children, from their rusage; for in-process work, the
// process's CPU time over the interval attributed to each event by its
// share of the interval's busy time), their wall time (sum of their
// stages), the bytes rendered and deployed, and the KV operations they
// made (model and ledger reads and writes).
type CostTotals struct {
	BytesOut      int64              `json:"bytes_out"`
	BytesRendered int64              `json:"bytes_rendered"`
	CPUSeconds    float64            `json:"cpu_seconds"`
	Events        int64              `json:"events"`
	KVOps         int64              `json:"kv_ops"`
	StageSeconds  map[string]float64 `json:"stage_seconds,omitempty"`
	WallSeconds   float64            `json:"wall_seconds"`
}

// Add adds o to t.
func (t *CostTotals) Add(o CostTotals) {
	t.Events += o.Events
	t.CPUSeconds += o.CPUSeconds
	t.WallSeconds += o.WallSeconds
	t.BytesRendered += o.BytesRendered
	t.BytesOut += o.BytesOut
	t.KVOps += o.KVOps
	for k, v := range o.StageSeconds {
		if t.StageSeconds == nil {
			t.StageSeconds = make(map[string]float64, len(Stages))
		}
		t.StageSeconds[k] += v
	}
}

// CostReportData is the data of cost_report: what the events one replica
// finished since its previous report cost (deltas, so that reports of any
// replicas over any window add up). Template and target costs split an
// event's cost over the templates it rendered and the targets it deployed
// to; source and priority costs are whole events.
//
// Its fields are in the order of their JSON keys, as telemetry payloads'
// are (the wire bytes are those of a sorted map).
type CostReportData struct {
	// BusySeconds is the summed in-process stage time of the interval's
	// events, the base of the CPU attribution.
	BusySeconds float64               `json:"busy_seconds"`
	ByPriority  map[string]CostTotals `json:"by_priority"`
	BySource    map[string]CostTotals `json:"by_source"`
	ByTarget    map[string]CostTotals `json:"by_target"`
	ByTemplate  map[string]CostTotals `json:"by_template"`
	// ChildCPUSeconds is the CPU time (user and system) of the exec
	// children of the interval's events, from their rusage.
	ChildCPUSeconds float64 `json:"child_cpu_seconds"`
	// IntervalSeconds is the time the report covers.
	IntervalSeconds float64 `json:"interval_seconds"`
	// ProcessCPUSeconds is the replica process's own CPU time (user and
	// system) over the interval, exec children excluded.
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"`
	// RateLimitSeconds is the time the interval's events waited for
	// rate-limit tokens, plus the delays of those nak'ed until a token was
	// due: time that more replicas would not shorten.
	RateLimitSeconds float64    `json:"rate_limit_seconds"`
	Total            CostTotals `json:"total"`
}

// TelemetryType returns CostReport.
func (CostReportData) TelemetryType() TelemetryType { return CostReport }
