package wire

import "time"

// The payload structs of the telemetry types, one per type or, where a
// type has variants with different fields, one per variant. Fields are
// declared in the byte order of their JSON names, so that the data object
// comes out with its keys sorted; a field tagged omitempty is absent in
// the cases its comment names, every other field is always present. The
// README's telemetry table lists every field.

// RegenerationStartedData is the data of regeneration_started: the
// orchestrator's settings when it starts.
type RegenerationStartedData struct {
	Autonomous    bool  `json:"autonomous"`
	BatchSize     int   `json:"batch_size"`
	MaxConcurrent int   `json:"max_concurrent"`
	TargetCycleMS int64 `json:"target_cycle_ms"`
}

// RegenerationCompletedData is the data of regeneration_completed after
// each cycle: what the cycle did.
type RegenerationCompletedData struct {
	// AchievedParallelism is the peak number of events in flight at once.
	AchievedParallelism int     `json:"achieved_parallelism"`
	Deferred            int     `json:"deferred"`
	Deployments         int     `json:"deployments"`
	DurationMS          float64 `json:"duration_ms"`
	Events              int     `json:"events"`
	EventsPerSecond     float64 `json:"events_per_second"`
	ExecutionID         string  `json:"execution_id"`
	Failed              int     `json:"failed"`
	MaxConcurrent       int     `json:"max_concurrent"`
	Rejected            int     `json:"rejected"`
	Skipped             int     `json:"skipped"`
	Succeeded           int     `json:"succeeded"`
}

// RegenerationFinalData is the data of the last regeneration_completed, at
// stop: the orchestrator's totals.
type RegenerationFinalData struct {
	AvgCycleTimeMS       float64 `json:"avg_cycle_time_ms"`
	DeadLettered         int64   `json:"dead_lettered"`
	Deferred             int64   `json:"deferred"`
	DeploymentsCompleted int64   `json:"deployments_completed"`
	EventsProcessed      int64   `json:"events_processed"`
	Failures             int64   `json:"failures"`
	// Final is always true: it tells this variant from the per-cycle one.
	Final                  bool  `json:"final"`
	RegenerationsTriggered int64 `json:"regenerations_triggered"`
	Rejected               int64 `json:"rejected"`
	Skipped                int64 `json:"skipped"`
	TotalCycles            int64 `json:"total_cycles"`
}

// RegenerationFailedData is the data of regeneration_failed: the engine
// failed on an event.
type RegenerationFailedData struct {
	ChangeType  ChangeType `json:"change_type"`
	Deliveries  uint64     `json:"deliveries"`
	Error       string     `json:"error"`
	EventID     string     `json:"event_id"`
	ExecutionID string     `json:"execution_id"`
	Subject     string     `json:"subject"`
}

// DeploymentStartedData is the data of deployment_started: a deployer
// begins to write an artifact.
type DeploymentStartedData struct {
	Deleted     bool   `json:"deleted"`
	EventID     string `json:"event_id"`
	ExecutionID string `json:"execution_id"`
	Hash        string `json:"hash"`
	Node        string `json:"node"`
	Path        string `json:"path"`
	Revision    uint64 `json:"revision"`
	Template    string `json:"template"`
}

// DeploymentCompletedData is the data of deployment_completed: an
// artifact deployed.
type DeploymentCompletedData struct {
	Deleted     bool    `json:"deleted"`
	DurationMS  float64 `json:"duration_ms"`
	EventID     string  `json:"event_id"`
	ExecutionID string  `json:"execution_id"`
	Hash        string  `json:"hash"`
	Node        string  `json:"node"`
	Path        string  `json:"path"`
	Revision    uint64  `json:"revision"`
	Template    string  `json:"template"`
}

// DeploymentFailedData is the data of deployment_failed: a deployer
// failed on an artifact.
type DeploymentFailedData struct {
	Deliveries  uint64 `json:"deliveries"`
	Error       string `json:"error"`
	EventID     string `json:"event_id"`
	ExecutionID string `json:"execution_id"`
	Node        string `json:"node"`
	Path        string `json:"path"`
	Template    string `json:"template"`
}

// EventRejectedData is the data of event_rejected from the orchestrator:
// an event terminated and dead-lettered.
type EventRejectedData struct {
	Deliveries uint64 `json:"deliveries"`
	DLQSubject string `json:"dlq_subject"`
	// Error is the cause's message, empty when there is none.
	Error       string `json:"error"`
	EventID     string `json:"event_id"`
	ExecutionID string `json:"execution_id"`
	NATSSubject string `json:"nats_subject"`
	Reason      string `json:"reason"`
	Seq         uint64 `json:"seq"`
}

// EventReapedData is the data of event_rejected from the reaper: an event
// whose deliveries ran out moved to the DLQ (Reason ReasonMaxDeliveries).
type EventReapedData struct {
	Reason string `json:"reason"`
	Seq    uint64 `json:"seq"`
}

// PerformanceMetricData is the data of performance_metric: the health
// loop's interval just ended, and the totals now.
type PerformanceMetricData struct {
	AvgCycleMS float64 `json:"avg_cycle_ms"`
	BatchSize  int     `json:"batch_size"`
	// Breakers maps each component to its circuit's state.
	Breakers map[string]string `json:"breakers"`
	// CgroupMemoryMax is the cgroup v2 memory.max, omitted when none.
	CgroupMemoryMax uint64  `json:"cgroup_memory_max,omitempty"`
	Concurrency     int     `json:"concurrency"`
	Cycles          int64   `json:"cycles"`
	Deferred        int64   `json:"deferred"`
	Events          int64   `json:"events"`
	EventsPerSecond float64 `json:"events_per_second"`
	EventsProcessed int64   `json:"events_processed"`
	Failures        int64   `json:"failures"`
	HeapBytes       uint64  `json:"heap_bytes"`
	InFlight        int     `json:"in_flight"`
	IntervalS       float64 `json:"interval_s"`
	P50CycleMS      float64 `json:"p50_cycle_ms"`
	P95CycleMS      float64 `json:"p95_cycle_ms"`
	P99CycleMS      float64 `json:"p99_cycle_ms"`
	// Pending is the consumer's pending count, omitted when it could not
	// be asked; PendingError then says why.
	Pending      *uint64 `json:"pending,omitempty"`
	PendingError string  `json:"pending_error,omitempty"`
	// RSSBytes is the resident set, omitted when unknown (not Linux).
	RSSBytes uint64 `json:"rss_bytes,omitempty"`
	// SuccessRate is omitted when the interval had no events.
	SuccessRate   *float64 `json:"success_rate,omitempty"`
	TargetCycleMS float64  `json:"target_cycle_ms"`
	TotalCycles   int64    `json:"total_cycles"`
	TuningChanges int64    `json:"tuning_changes"`
}

// CycleOverTargetData is the data of performance_warning for one cycle
// that overran the target (Rule "cycle_over_target").
type CycleOverTargetData struct {
	DurationMS  float64 `json:"duration_ms"`
	ExecutionID string  `json:"execution_id"`
	Rule        string  `json:"rule"`
	TargetMS    float64 `json:"target_ms"`
}

// IntervalOverTargetData is the data of performance_warning when the
// health loop's interval averaged over the target (Rule
// "cycle_over_target", Scope "interval").
type IntervalOverTargetData struct {
	AvgCycleMS float64 `json:"avg_cycle_ms"`
	Cycles     int64   `json:"cycles"`
	Rule       string  `json:"rule"`
	Scope      string  `json:"scope"`
	Severity   string  `json:"severity"`
	TargetMS   float64 `json:"target_ms"`
}

// LowSuccessRateData is the data of performance_warning when the
// interval's success rate fell below the threshold (Rule
// "low_success_rate").
type LowSuccessRateData struct {
	Deferred    int64   `json:"deferred"`
	Events      int64   `json:"events"`
	Failures    int64   `json:"failures"`
	Rule        string  `json:"rule"`
	Severity    string  `json:"severity"`
	SuccessRate float64 `json:"success_rate"`
	Threshold   float64 `json:"threshold"`
}

// StalledData is the data of performance_alert when no cycle completed
// in an interval while events were pending (Rule "stalled").
type StalledData struct {
	IntervalS float64 `json:"interval_s"`
	Pending   uint64  `json:"pending"`
	Rule      string  `json:"rule"`
	Severity  string  `json:"severity"`
}

// DLQNearLimitData is the data of performance_alert when REGEN_DLQ is at
// or over its alert ratio of a limit (Rule "dlq_near_limit", Severity
// "warning"), published by the reaper.
type DLQNearLimitData struct {
	AlertRatio float64 `json:"alert_ratio"`
	Bytes      uint64  `json:"bytes"`
	// MaxBytes and MaxMsgs are the stream's limits, 0 when none.
	MaxBytes int64  `json:"max_bytes"`
	MaxMsgs  int64  `json:"max_msgs"`
	Msgs     uint64 `json:"msgs"`
	// Ratio is the fuller of bytes/max_bytes and msgs/max_msgs.
	Ratio    float64 `json:"ratio"`
	Rule     string  `json:"rule"`
	Severity string  `json:"severity"`
	Stream   string  `json:"stream"`
}

// MemoryPressureData is the data of performance_alert on memory pressure
// (Rule "memory_pressure"; Reason "heap_over_limit" or
// "near_cgroup_limit").
type MemoryPressureData struct {
	// CgroupMemoryMax is the cgroup v2 memory.max, omitted when none.
	CgroupMemoryMax uint64 `json:"cgroup_memory_max,omitempty"`
	HeapBytes       uint64 `json:"heap_bytes"`
	// MemoryLimit is the configured heap limit in bytes, 0 when none.
	MemoryLimit uint64 `json:"memory_limit"`
	Reason      string `json:"reason"`
	// RSSBytes is the resident set, omitted when unknown (not Linux).
	RSSBytes uint64 `json:"rss_bytes,omitempty"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
}

// ScalingAdviceData is the data of scaling_advice. With scope "replica"
// one replica's advice: the backlog would not drain within the target
// cycle. With scope "cluster" the leader's advice for the whole cluster,
// published every health interval, with its arrival forecast and each
// priority level.
type ScalingAdviceData struct {
	// ArrivalRate is the measured arrival rate (events/s).
	ArrivalRate float64 `json:"arrival_rate"`
	// Bound is what bounded the replica over the interval: "cpu" (more
	// replicas help), "rate_limit" or "target" (they do not: the
	// recommendation is then the current count), omitted when none;
	// BoundReason says why.
	Bound       string `json:"bound,omitempty"`
	BoundReason string `json:"bound_reason,omitempty"`
	// ClusterDrainRate is what every live replica drains together while
	// busy (events/s; cluster scope).
	ClusterDrainRate        float64 `json:"cluster_drain_rate,omitempty"`
	CurrentReplicasEstimate int     `json:"current_replicas_estimate"`
	// DrainRate is what one replica drains while busy (events/s; the mean
	// over the replicas in cluster scope).
	DrainRate float64 `json:"drain_rate"`
	// Forecast is the arrival forecast the advice looks ahead with
	// (cluster scope).
	Forecast *ArrivalForecast `json:"forecast,omitempty"`
	// Levels are the priority levels, highest first (cluster scope).
	Levels  []LevelAdvice `json:"levels,omitempty"`
	Pending uint64        `json:"pending"`
	// PredictedDrainS is null when the backlog grows.
	PredictedDrainS     *float64 `json:"predicted_drain_s"`
	Reason              string   `json:"reason"`
	RecommendedReplicas int      `json:"recommended_replicas"`
	// Scope is AdviceScopeReplica or AdviceScopeCluster.
	Scope string `json:"scope,omitempty"`
}

// The scopes of a scaling advice: one replica's own view, or the
// cluster's, published by the leaseholder alone.
const (
	AdviceScopeReplica = "replica"
	AdviceScopeCluster = "cluster"
)

// ArrivalForecast is the arrival rate forecast of a cluster scaling
// advice (over the rate measured each interval).
type ArrivalForecast struct {
	// ArrivalRate is the rate forecast HorizonS ahead (events/s, ≥ 0).
	ArrivalRate float64 `json:"arrival_rate"`
	// Error is the mean absolute error of the recent one-step forecasts
	// (events/s), ErrorRatio the same over the mean rate (WAPE), and
	// ErrorSamples how many forecasts they cover.
	Error        float64 `json:"error"`
	ErrorRatio   float64 `json:"error_ratio"`
	ErrorSamples int     `json:"error_samples"`
	// HorizonS is how far ahead ArrivalRate looks: the time a new
	// replica takes to help (scale_lead).
	HorizonS float64 `json:"horizon_s"`
	// Level is the smoothed rate now and Trend its slope (events/s per s).
	Level float64 `json:"level"`
	// Method is the forecaster: "holt" (Holt's linear trend), or
	// "holt_winters" once a daily season forecasts better.
	Method string  `json:"method"`
	Trend  float64 `json:"trend"`
}

// LevelAdvice is one priority level of a cluster scaling advice.
type LevelAdvice struct {
	// ArrivalRate is the level's smoothed arrival rate, ForecastRate the
	// rate forecast at the horizon (events/s).
	ArrivalRate  float64 `json:"arrival_rate"`
	ForecastRate float64 `json:"forecast_rate"`
	Pending      uint64  `json:"pending"`
	// PredictedDrainS is the time to drain this level and every level
	// above it with all the replicas (they are served first); null when
	// they do not drain.
	PredictedDrainS *float64 `json:"predicted_drain_s"`
	Priority        Priority `json:"priority"`
}

// TuningChangedData is the data of tuning_changed: the adaptive tuner
// changed a knob.
type TuningChangedData struct {
	At        time.Time       `json:"at"`
	BatchSize TuningBatchSize `json:"batch_size"`
	Knob      string          `json:"knob"`
	New       int             `json:"new"`
	Old       int             `json:"old"`
	Reason    string          `json:"reason"`
	Window    TuningWindow    `json:"window"`
}

// TuningBatchSize is the batch size before and after a tuning change.
type TuningBatchSize struct {
	New int `json:"new"`
	Old int `json:"old"`
}

// TuningWindow is what a tuning decision looked at.
type TuningWindow struct {
	AvgCycleMS float64 `json:"avg_cycle_ms"`
	Cycles     int64   `json:"cycles"`
	DurationS  float64 `json:"duration_s"`
	ErrorRate  float64 `json:"error_rate"`
	Events     int64   `json:"events"`
	// Pending is omitted when it was unknown.
	Pending *uint64 `json:"pending,omitempty"`
}

// BreakerStateChangedData is the data of breaker_state_changed: a circuit
// changed state ("closed", "open" or "half-open").
type BreakerStateChangedData struct {
	Component string        `json:"component"`
	Counts    BreakerCounts `json:"counts"`
	From      string        `json:"from"`
	To        string        `json:"to"`
}

// RateLimitedData is the data of rate_limited: an event met a rate limit
// and either waited for its token ("wait") or was given back with the
// delay until the token is due ("nak"), never failed.
type RateLimitedData struct {
	// Action is "wait" or "nak".
	Action  string  `json:"action"`
	DelayMS float64 `json:"delay_ms"`
	// EventID and ExecutionID name the event and the cycle it was in (for
	// the deployer and target limits, the event whose artifact it was).
	EventID     string `json:"event_id"`
	ExecutionID string `json:"execution_id"`
	// Limit is the limit's key: engine, deployer, target:TARGET or source:NAME.
	Limit string `json:"limit"`
}

// BreakerCounts are the call outcomes that led to a state change, in the
// field order of the breaker package's Counts (convertible from it).
type BreakerCounts struct {
	Requests             uint32 `json:"requests"`
	TotalSuccesses       uint32 `json:"total_successes"`
	TotalFailures        uint32 `json:"total_failures"`
	TotalExclusions      uint32 `json:"total_exclusions"`
	ConsecutiveSuccesses uint32 `json:"consecutive_successes"`
	ConsecutiveFailures  uint32 `json:"consecutive_failures"`
}

// TelemetryType returns RegenerationStarted.
func (RegenerationStartedData) TelemetryType() TelemetryType { return RegenerationStarted }

// TelemetryType returns RegenerationCompleted.
func (RegenerationCompletedData) TelemetryType() TelemetryType { return RegenerationCompleted }

// TelemetryType returns RegenerationCompleted.
func (RegenerationFinalData) TelemetryType() TelemetryType { return RegenerationCompleted }

// TelemetryType returns RegenerationFailed.
func (RegenerationFailedData) TelemetryType() TelemetryType { return RegenerationFailed }

// TelemetryType returns DeploymentStarted.
func (DeploymentStartedData) TelemetryType() TelemetryType { return DeploymentStarted }

// TelemetryType returns DeploymentCompleted.
func (DeploymentCompletedData) TelemetryType() TelemetryType { return DeploymentCompleted }

// TelemetryType returns DeploymentFailed.
func (DeploymentFailedData) TelemetryType() TelemetryType { return DeploymentFailed }

// TelemetryType returns EventRejected.
func (EventRejectedData) TelemetryType() TelemetryType { return EventRejected }

// TelemetryType returns EventRejected.
func (EventReapedData) TelemetryType() TelemetryType { return EventRejected }

// TelemetryType returns PerformanceMetric.
func (PerformanceMetricData) TelemetryType() TelemetryType { return PerformanceMetric }

// TelemetryType returns PerformanceWarning.
func (CycleOverTargetData) TelemetryType() TelemetryType { return PerformanceWarning }

// TelemetryType returns PerformanceWarning.
func (IntervalOverTargetData) TelemetryType() TelemetryType { return PerformanceWarning }

// TelemetryType returns PerformanceWarning.
func (LowSuccessRateData) TelemetryType() TelemetryType { return PerformanceWarning }

// TelemetryType returns PerformanceAlert.
func (StalledData) TelemetryType() TelemetryType { return PerformanceAlert }

// TelemetryType is PerformanceAlert.
func (DLQNearLimitData) TelemetryType() TelemetryType { return PerformanceAlert }

// TelemetryType returns PerformanceAlert.
func (MemoryPressureData) TelemetryType() TelemetryType { return PerformanceAlert }

// TelemetryType returns ScalingAdvice.
func (ScalingAdviceData) TelemetryType() TelemetryType { return ScalingAdvice }

// TelemetryType returns TuningChanged.
func (TuningChangedData) TelemetryType() TelemetryType { return TuningChanged }

// TelemetryType returns BreakerStateChanged.
func (BreakerStateChangedData) TelemetryType() TelemetryType { return BreakerStateChanged }

// TelemetryType returns RateLimited.
func (RateLimitedData) TelemetryType() TelemetryType { return RateLimited }

// ConsumerPausedData is the data of consumer_paused: an operator paused a
// priority level's consumer (regen pause), on every replica at once.
type ConsumerPausedData struct {
	Consumer   string    `json:"consumer"`
	PauseUntil time.Time `json:"pause_until"`
	Priority   Priority  `json:"priority"`
}

// TelemetryType returns ConsumerPaused.
func (ConsumerPausedData) TelemetryType() TelemetryType { return ConsumerPaused }

// ConsumerResumedData is the data of consumer_resumed: an operator
// resumed a paused priority level's consumer (regen resume).
type ConsumerResumedData struct {
	Consumer string   `json:"consumer"`
	Priority Priority `json:"priority"`
}

// TelemetryType returns ConsumerResumed.
func (ConsumerResumedData) TelemetryType() TelemetryType { return ConsumerResumed }
