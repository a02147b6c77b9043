package orchestrator

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/deadline"
	"github.com/regen-dev/regen/internal/tracing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// outcome is how one delivery of an event ended.
type outcome uint8

const (
	outcomeSucceeded outcome = iota + 1 // deployed at least one artifact, acked
	outcomeSkipped                      // nothing new to deploy (already done), acked
	outcomeFailed                       // transient failure: nak'ed with delay (or dead-lettered at the last delivery)
	outcomeRejected                     // invalid or permanent: dead-lettered and terminated
	outcomeDeferred                     // circuit open or shutting down: nak'ed, not a failure
)

// String is the outcome's name in metrics and telemetry.
func (oc outcome) String() string {
	switch oc {
	case outcomeSucceeded:
		return "succeeded"
	case outcomeSkipped:
		return "skipped"
	case outcomeFailed:
		return "failed"
	case outcomeRejected:
		return "rejected"
	case outcomeDeferred:
		return "deferred"
	}
	return "unknown"
}

type result struct {
	outcome      outcome
	deployments  int
	regenerated  bool
	deadLettered bool
	// ack is set when the event succeeded and is still to be acked; the
	// cycle sends the ack and awaits its confirmation without holding a
	// worker (eventID is for the log if the ack fails).
	ack     bool
	eventID string
	start   time.Time // when the worker took the event
	// costKey names the event's cost groups; ackSent is when its ack was
	// sent (the ack stage ends at its confirmation).
	costKey cost.Event
	ackSent time.Time
	ackDur  time.Duration // from ackSent to the ack's confirmation (or failure)
	// span is the delivery's span (nil with tracing off), ended when the
	// event is settled; ackSpan is its ack's, from ackSent to the
	// confirmation.
	span, ackSpan trace.Span
}

// worker is one worker of a cycle: the event it is on, and the calls it
// makes through the guards, built once per worker so that an event
// allocates nothing for them. A worker handles one event at a time.
type worker struct {
	o        *Orchestrator
	ch       wire.Change
	arts     []wire.Artifact
	art      wire.Artifact
	deployed bool
	started  bool   // deployment_started was published for art
	traceID  string // the trace of the current event ("" untraced)
	// regenerateFn and deployFn call the engine on ch and the deployer on
	// art, leaving the outcome in arts and deployed.
	regenerateFn, deployFn func(ctx context.Context) error
	// startedHook is the event context's wire.DeployStarted hook (deployStarted):
	// the deployer calls it when it begins to write art.
	startedHook *deadline.KeyValue
	// group is the call of a GroupEngine on a group (nil without one).
	group *groupCall
	// rec records the current event's cost (the event context carries
	// it, chained after startedHook); costKey names its cost groups.
	// sheet adds up the worker's events' costs until it leaves the cycle
	// (putWorker merges it into the orchestrator's tally).
	rec      cost.Recorder
	costKey  cost.Event
	sheet    *cost.Sheet
	mergedAt time.Time // when foldCost last merged sheet
}

// getWorker takes a worker from the pool, or builds one.
func (o *Orchestrator) getWorker() *worker {
	if w, ok := o.workers.Get().(*worker); ok {
		return w
	}
	return o.newWorker()
}

func (o *Orchestrator) newWorker() *worker {
	w := &worker{o: o, sheet: cost.NewSheet()}
	w.regenerateFn = func(ctx context.Context) error {
		var err error
		w.arts, err = o.deps.Engine.Regenerate(ctx, w.ch)
		return err
	}
	w.deployFn = func(ctx context.Context) error {
		var err error
		w.deployed, err = o.deps.Deployer.Deploy(ctx, w.art)
		return err
	}
	w.startedHook = &deadline.KeyValue{Key: wire.DeployStartedKey{}, Val: w.deployStarted,
		Next: &deadline.KeyValue{Key: cost.Key{}, Val: &w.rec}}
	if o.group != nil {
		w.group = newGroupCall(w, o.group)
	}
	return w
}

// deployStarted publishes deployment_started for the artifact being
// deployed, once however many targets or retries start writing it; a call
// outside deployAll (from the engine) is ignored.
func (w *worker) deployStarted() {
	if w.started || w.art.Path == "" {
		return
	}
	w.started = true
	w.o.publishDeployStarted(w.traceID, w.ch, w.art)
}

// process drives one message, started at start, through decode, engine
// and deployer, and settles failures (nak, term, dead letter). A success
// is returned with ack set: the caller acks it.
func (w *worker) process(ctx context.Context, execID string, m wire.Message, start time.Time) result {
	o := w.o
	ev, err := wire.DecodeMessage(m, o.cfg.MaxPayload)
	w.rec.AddStage(cost.Decode, time.Since(start))
	w.costKey = costKey(ev, m)
	if err != nil {
		return o.reject(ctx, execID, m, ev.ID, err)
	}
	if cause, spent := o.exhausted(ctx, m); spent {
		return o.deadLetter(ctx, m, execID, ev.ID, wire.ReasonMaxDeliveries, cause)
	}
	return w.processChange(ctx, m, wire.Change{Event: ev, Seq: m.Seq(), Deliveries: m.Deliveries(), ExecutionID: execID}, start)
}

// processChange drives the decoded change ch of message m, whose budget is
// not spent, through the engine and the deployer, as process does.
func (w *worker) processChange(ctx context.Context, m wire.Message, ch wire.Change, start time.Time) result {
	o := w.o
	evCtx, cancel := deadline.WithDeadlineValue(ctx, start.Add(o.cfg.EventTimeout), w.startedHook)
	defer cancel()
	w.ch, w.traceID = ch, tracing.TraceID(ctx)
	defer w.reset()
	if err := o.limitEngine(evCtx, ch); err != nil {
		return o.fail(ctx, m, w.ch, "rate_limit", err)
	}
	rctx, span := tracing.StartStage(evCtx, tracing.StageRegenerate)
	err := o.deps.EngineGuard.Do(rctx, w.regenerateFn)
	if span.IsRecording() {
		span.SetAttributes(tracing.ArtifactsKey.Int(len(w.arts)))
	}
	tracing.End(span, err)
	if err != nil {
		return o.fail(ctx, m, w.ch, "regenerate", err)
	}
	deployed, err := w.deployAll(evCtx)
	if err != nil {
		res := o.fail(ctx, m, w.ch, "deploy", err)
		res.regenerated, res.deployments = true, deployed
		return res
	}
	return succeeded(ch.Event.ID, deployed)
}

// succeeded is the result of an event whose change was applied and whose
// artifacts deployed (deployed of them written): acked, skipped when
// nothing was written.
func succeeded(eventID string, deployed int) result {
	res := result{outcome: outcomeSucceeded, deployments: deployed, regenerated: true, ack: true, eventID: eventID}
	if deployed == 0 {
		res.outcome = outcomeSkipped
	}
	return res
}

// reset drops the finished event's references (the garbage collector may
// free them while the worker waits for the next).
func (w *worker) reset() {
	w.ch, w.arts, w.art, w.started, w.traceID = wire.Change{}, nil, wire.Artifact{}, false, ""
}

// deployAll deploys every artifact in order; it returns how many were
// deployed (not skipped) before the first error.
func (w *worker) deployAll(ctx context.Context) (int, error) {
	o, n := w.o, 0
	for _, a := range w.arts {
		start := time.Now()
		w.art, w.deployed, w.started = a, false, false
		if err := o.limitDeploy(ctx, w.ch, a); err != nil {
			return n, err
		}
		// The attribute is set, not passed: a variadic argument would
		// allocate with tracing off.
		dctx, span := tracing.StartStage(ctx, tracing.StageDeploy)
		if span.IsRecording() {
			span.SetAttributes(artifactPathKey.String(a.Path))
		}
		err := o.deps.DeployGuard.Do(dctx, w.deployFn)
		tracing.End(span, err)
		if err != nil {
			o.publishDeployFailed(w.traceID, w.ch, a, err)
			return n, err
		}
		if w.deployed {
			n++
			o.publishDeployed(w.traceID, w.ch, a, time.Since(start))
		}
	}
	return n, nil
}

// artifactPathKey is the attribute of an artifact's deploy span: its path
// (the deployer's spans under it name each target).
const artifactPathKey = attribute.Key("regen.artifact.path")

// startDelivery starts the delivery span of m under ctx, the parent taken
// from m's traceparent header. With tracing off it returns ctx and a nil
// span, having read nothing of m.
func startDelivery(ctx context.Context, m wire.Message) (context.Context, trace.Span) {
	t := tracing.Default()
	if t == nil {
		return ctx, nil
	}
	consumer := ""
	if cn, ok := m.(wire.ConsumerNamer); ok {
		consumer = cn.Consumer()
	}
	hdr := m.Headers()
	return t.StartDelivery(ctx, hdr, m.Subject(), consumer, hdr.Get(nats.MsgIdHdr), m.Deliveries())
}

// endDelivery ends the delivery span of res (if any) with its outcome: an
// error status for a failed or rejected event.
func endDelivery(res *result) {
	if res.span == nil {
		return
	}
	res.span.SetAttributes(outcomeKey.String(res.outcome.String()))
	if res.outcome == outcomeFailed || res.outcome == outcomeRejected {
		res.span.SetStatus(codes.Error, res.outcome.String())
	}
	res.span.End()
}

// outcomeKey is the delivery span's attribute naming its outcome.
const outcomeKey = attribute.Key("regen.outcome")

// putWorker merges the worker's costs into the orchestrator's tally and
// gives it back to the pool.
func (o *Orchestrator) putWorker(w *worker) {
	o.cost.Merge(w.sheet)
	o.workers.Put(w)
}

// foldCost adds the cost the worker recorded to its sheet (emptying the
// record), as the work of the events named by keys, started at start; it
// merges the sheet into the tally every costMergeEvery, unless another
// goroutine holds the tally (never waiting for it).
func (w *worker) foldCost(start time.Time, keys ...cost.Event) {
	w.sheet.Add(&w.rec, keys...)
	if start.Sub(w.mergedAt) >= costMergeEvery && w.o.cost.TryMerge(w.sheet) {
		w.mergedAt = start
	}
}

// costKey names the cost groups of ev, delivered as m: its source and the
// priority of m's subject (regen.changes.<priority>.<change_type>).
func costKey(ev wire.ChangeEvent, m wire.Message) cost.Event {
	rest, _ := strings.CutPrefix(m.Subject(), "regen.changes.")
	prio, _, ok := strings.Cut(rest, ".")
	if !ok {
		prio = ""
	}
	return cost.Event{Source: ev.Source, Priority: prio}
}

func eventAttrs(eventID, execID string, more ...any) []any {
	return append([]any{slog.String("event_id", eventID), slog.String("execution_id", execID)}, more...)
}
