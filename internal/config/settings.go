package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen/breaker"
	"github.com/regen-dev/regen/bus/wire"
	"github.com/regen-dev/regen/orchestrator"
)

// setting is one configurable field reachable by flag and REGEN_* env.
type setting struct {
	key    string // YAML path, e.g. "max_concurrent" or "nats.url"
	flag   string // e.g. "max-concurrent"
	usage  string
	isBool bool
	set    func(string) error
}

// Env is the environment variable of the setting: REGEN_ + key in upper
// case with dots and dashes as underscores.
func (s setting) Env() string {
	return "REGEN_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s.key))
}

func strS(key, flag, usage string, p *string) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error { *p = v; return nil }}
}

func intS(key, flag, usage string, p *int) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*p = n
		return nil
	}}
}

func int64S(key, flag, usage string, p *int64) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*p = n
		return nil
	}}
}

func floatS(key, flag, usage string, p *float64) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		*p = f
		return nil
	}}
}

func durS(key, flag, usage string, p *time.Duration) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration (like 30s, 1m): %q", v)
		}
		*p = d
		return nil
	}}
}

func boolS(key, flag, usage string, p *bool) setting {
	return setting{key: key, flag: flag, usage: usage, isBool: true, set: func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		*p = b
		return nil
	}}
}

func listS(key, flag, usage string, p *[]string) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		*p = splitList(v)
		return nil
	}}
}

func fieldsS(key, flag, usage string, p *[]string) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		*p = strings.Fields(v)
		return nil
	}}
}

// argvMapS sets a map of argv from NAME=ARGV entries (the argv split on
// spaces, no quoting), separated by ";" (a repeated flag adds one): the
// whole map, as a list setting replaces the whole list.
func argvMapS(key, flag, usage string, p *map[string][]string) setting {
	return mapS(key, flag, usage, p, strings.Cut, strings.Fields)
}

// listMapS sets a map of lists from KEY=A,B entries separated by ";";
// KEY may hold "=" (it ends at the last one).
func listMapS(key, flag, usage string, p *map[string][]string) setting {
	cutLast := func(s, sep string) (string, string, bool) {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			return s, "", false
		}
		return s[:i], s[i+len(sep):], true
	}
	return mapS(key, flag, usage, p, cutLast, splitList)
}

func mapS(key, flag, usage string, p *map[string][]string, cut func(s, sep string) (string, string, bool),
	split func(string) []string) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		m := map[string][]string{}
		for _, entry := range strings.Split(v, mapSep) {
			if entry = strings.TrimSpace(entry); entry == "" {
				continue
			}
			k, val, ok := cut(entry, "=")
			if k = strings.TrimSpace(k); !ok || k == "" {
				return fmt.Errorf("%q is not NAME=VALUE", entry)
			}
			m[k] = split(val)
		}
		*p = m
		return nil
	}}
}

// weightsS sets priority weights from LEVEL=N entries separated by "," or
// ";" (the whole map, validated later with the config).
func weightsS(key, flag, usage string, p *map[wire.Priority]int) setting {
	return setting{key: key, flag: flag, usage: usage, set: func(v string) error {
		m := map[wire.Priority]int{}
		for _, entry := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			k, val, ok := strings.Cut(strings.TrimSpace(entry), "=")
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if !ok || err != nil {
				return fmt.Errorf("%q is not LEVEL=N", entry)
			}
			m[wire.Priority(strings.TrimSpace(k))] = n
		}
		*p = m
		return nil
	}}
}

// mapSep separates the entries of a map setting.
const mapSep = ";"

// splitList is a comma-separated list, blanks dropped.
func splitList(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// EnvVars lists every environment variable Load reads: REGEN_CONFIG and
// one REGEN_* variable per setting.
func EnvVars() []string {
	var probe Config
	out := []string{"REGEN_CONFIG"}
	for _, s := range settings(&probe) {
		out = append(out, s.Env())
	}
	return out
}

// settings lists every flag/env setting bound to the fields of c.
func settings(c *Config) []setting {
	return slices.Concat(natsSettings(c), storageSettings(c), serviceSettings(c), validationSettings(&c.Validation),
		orchestratorSettings(&c.Orchestrator), breakerSettings(&c.Breaker), regionSettings(c))
}

// natsSettings: the connection, the embedded server and the consumer.
func natsSettings(c *Config) []setting {
	return []setting{
		strS("nats.url", "nats-url", "NATS server URLs, comma-separated (empty: embedded server)", &c.NATS.URL),
		strS("nats.creds", "creds", "NATS credentials file", &c.NATS.Creds),
		strS("nats.user", "user", "NATS user", &c.NATS.User),
		strS("nats.password", "password", "NATS password", &c.NATS.Password),
		strS("nats.token", "token", "NATS token", &c.NATS.Token),
		strS("nats.tls_ca", "tls-ca", "CA certificate to verify the NATS server", &c.NATS.TLSCA),
		strS("nats.tls_cert", "tls-cert", "client certificate", &c.NATS.TLSCert),
		strS("nats.tls_key", "tls-key", "client key", &c.NATS.TLSKey),
		intS("nats.replicas", "replicas", "stream and bucket replication factor", &c.NATS.Replicas),
		strS("embedded.listen", "listen", "embedded server client address", &c.Embedded.Listen),
		strS("embedded.data_dir", "data-dir", "embedded server JetStream store", &c.Embedded.DataDir),
		strS("embedded.sync", "sync", "embedded fsync policy: default or always", &c.Embedded.Sync),
		strS("consumer.name", "consumer", "durable consumer name", &c.Consumer.Name),
		intS("consumer.max_ack_pending", "max-ack-pending", "unacked messages allowed across replicas", &c.Consumer.MaxAckPending),
		durS("consumer.dedupe_window", "dedupe-window", "duplicate window of REGEN_CHANGES", &c.Consumer.Dedupe),
	}
}

// storageSettings: the limits of REGEN_DLQ and REGEN_TELEMETRY.
func storageSettings(c *Config) []setting {
	return []setting{
		int64S("dlq.max_bytes", "dlq-max-bytes", "REGEN_DLQ size limit in bytes; full, it refuses new dead letters (their events stay queued)", &c.DLQ.MaxBytes),
		int64S("dlq.max_msgs", "dlq-max-msgs", "REGEN_DLQ message limit (0: none)", &c.DLQ.MaxMsgs),
		durS("dlq.max_age", "dlq-max-age", "drop dead letters older than this (0: keep)", &c.DLQ.MaxAge),
		floatS("dlq.alert_ratio", "dlq-alert-ratio", "share of a REGEN_DLQ limit from which replicas warn", &c.DLQ.AlertRatio),
		int64S("telemetry.max_bytes", "telemetry-max-bytes", "REGEN_TELEMETRY size limit in bytes (oldest discarded)", &c.Telemetry.MaxBytes),
		durS("telemetry.max_age", "telemetry-max-age", "how long REGEN_TELEMETRY keeps telemetry", &c.Telemetry.MaxAge),
	}
}

// serviceSettings: engine, deploy targets, logging, HTTP, faults.
func serviceSettings(c *Config) []setting {
	return []setting{
		strS("templates", "templates", "template directory", &c.Templates),
		strS("engine", "engine", "graph (templates over the model) or exec (a generator command)", &c.Engine),
		fieldsS("exec.command", "exec", "exec engine argv, split on spaces (no quoting; use the config file for arguments with spaces)", &c.Exec.Command),
		durS("exec.timeout", "exec-timeout", "time limit per generator run", &c.Exec.Timeout),
		listS("deploy", "deploy", "deploy targets dir:PATH or objectstore:BUCKET (comma-separated or repeated)", &c.Deploy),
		strS("log.level", "log-level", "debug, info, warn or error", &c.Log.Level),
		strS("log.format", "log-format", "auto, text or json", &c.Log.Format),
		strS("faults", "faults", "inject faults for tests, e.g. engine:error=0.3;deployer:crash_after=5", &c.Faults),
		strS("http", "http", "metrics and probes address (empty: off)", &c.HTTP),
		boolS("pprof", "pprof", "serve /debug/pprof/ on the --http server", &c.Pprof),
		strS("console_token", "console-token", "token the console's mutating requests need (empty: none on loopback, generated otherwise)", &c.ConsoleToken),
		strS("console_trace_url", "console-trace-url", "URL of a trace in the tracing UI, with {trace_id} (e.g. http://localhost:16686/trace/{trace_id}); the console's event stories link to it", &c.ConsoleTraceURL),
		durS("stats_interval", "stats-interval", "how often the replica publishes its stats to REGEN_REPLICAS", &c.StatsInterval),
		rateLimitsS("rate_limits", "rate-limit", "a cluster-wide rate limit KEY=RATE, KEY engine, deployer, target:TARGET or source:NAME, RATE N/s, N/m or N/h, optionally ,BURST (200/s,50) (repeated, or ; between them; replaces the file's)", &c.RateLimits),
		durS("signal_debounce", "signal-debounce", "a second SIGINT/SIGTERM within this of the first is ignored; a later one forces exit", &c.SignalDebounce),
	}
}

// validationSettings: the command validators and the validators of each
// deploy target.
func validationSettings(c *Validation) []setting {
	return []setting{
		argvMapS("validators", "validator", "a command validator NAME=ARGV, the argv split on spaces (repeated, or ; between them; replaces the file's)", &c.Validators),
		listMapS("deploy_validate", "deploy-validate", "validators of a deploy target TARGET=NAME,NAME (repeated, or ; between them; replaces the file's)", &c.DeployValidate),
		durS("validator_timeout", "validator-timeout", "time limit per run of a command validator", &c.ValidatorTimeout),
	}
}

// orchestratorSettings: the orchestrator's Config (top-level YAML keys).
func orchestratorSettings(o *orchestrator.Config) []setting {
	return []setting{
		boolS("priority_levels", "priority-levels", "one consumer per priority level, scheduled by weight (default; false: one consumer, stream order)", &o.PriorityLevels),
		weightsS("priority_weights", "priority-weights", "weights of the levels, e.g. critical=8,high=4,normal=2,low=1 (levels left out keep theirs)", &o.PriorityWeights),
		boolS("priority_strict", "priority-strict", "strict priority order (lower levels get only what aging gives them)", &o.PriorityStrict),
		intS("priority_aging", "priority-aging", "K: a level with events waits at most this many fetches under saturation", &o.PriorityAging),
		boolS("autonomous", "autonomous", "keep running (false: drain the backlog and exit)", &o.Autonomous),
		intS("max_concurrent", "max-concurrent", "events in flight at most", &o.MaxConcurrent),
		intS("batch_size", "batch-size", "events per fetch", &o.BatchSize),
		durS("fetch_wait", "fetch-wait", "longest wait for a batch", &o.FetchWait),
		durS("event_timeout", "event-timeout", "time limit per event", &o.EventTimeout),
		durS("target_cycle", "target-cycle", "cycle time target", &o.TargetCycle),
		boolS("adaptive_optimization", "adaptive", "adaptive tuning of concurrency and batch size", &o.AdaptiveOptimization),
		durS("health_check_interval", "health-interval", "health loop period", &o.HealthCheckInterval),
		intS("tune_min", "tune-min", "lowest concurrency the adaptive tuner may set", &o.TuneMin),
		intS("tune_max", "tune-max", "highest concurrency the adaptive tuner may set (0: max(4 x max_concurrent, 64))", &o.TuneMax),
		durS("tune_cooldown", "tune-cooldown", "tuner analysis window and least time between changes", &o.TuneCooldown),
		durS("scale_lead", "scale-lead", "how far ahead the cluster scaling advice forecasts arrivals (0: 2 x health_check_interval)", &o.ScaleLead),
		intS("memory_limit", "memory-limit", "heap bytes above which the health loop alerts critical (0: off)", &o.MemoryLimit),
		durS("ack_wait", "ack-wait", "consumer ack wait", &o.AckWait),
		intS("max_deliver", "max-deliver", "deliveries before dead-lettering", &o.MaxDeliver),
		durS("nak_delay", "nak-delay", "first redelivery delay after a failure", &o.NakDelay),
		durS("nak_delay_max", "nak-delay-max", "largest redelivery delay", &o.NakDelayMax),
		durS("shutdown_grace", "shutdown-grace", "time in-flight events get at shutdown", &o.ShutdownGrace),
		intS("max_payload", "max-payload", "largest accepted event in bytes", &o.MaxPayload),
		strS("replica", "replica", "replica name in telemetry (default host-pid)", &o.Replica),
	}
}

// breakerSettings: the breaker.Config of every guard.
func breakerSettings(b *breaker.Config) []setting {
	return []setting{
		durS("breaker.window", "breaker-window", "breaker rolling window", &b.Window),
		intS("breaker.min_requests", "breaker-min-requests", "calls in the window before the breaker may trip", &b.MinRequests),
		floatS("breaker.failure_ratio", "breaker-failure-ratio", "failure ratio that trips the breaker", &b.FailureRatio),
		durS("breaker.open_timeout", "breaker-open-timeout", "how long a tripped breaker stays open", &b.OpenTimeout),
		intS("breaker.half_open_probes", "breaker-probes", "calls let through when half-open", &b.HalfOpenProbes),
		intS("breaker.retries", "retries", "in-process retries of a transient error", &b.Retries),
		durS("breaker.call_timeout", "call-timeout", "time limit per engine/deployer call", &b.CallTimeout),
	}
}
