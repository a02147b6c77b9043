package orchestrator

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/regen-dev/regen/internal/cost"
	"github.com/regen-dev/regen/internal/deadline"
	"github.com/regen-dev/regen/internal/tracing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Coalescing. With a GroupEngine a cycle is grouped: plan decodes the
// whole batch first and groups its valid events by GroupEngine.GroupKey;
// each group is one unit of work (one gate slot, one RegenerateGroup, one
// deploy), and every message still gets its own result, ack and telemetry.
// Every other message is a unit of its own, processed as in a cycle
// without a GroupEngine. The grouped state lives in groupPool and
// groupCall, so that a cycle without a GroupEngine carries none of it.

// groupPool is the worker pool of a grouped cycle: a cyclePool whose
// workers take units of work instead of messages.
type groupPool struct {
	cyclePool
	prep  []prepared // every message, decoded
	units [][]int    // the units of work, each a list of indices into msgs
}

// groupCall is a worker's call of a GroupEngine, built once per worker:
// fn calls RegenerateGroup on chs, leaving the artifacts in the worker's
// arts and each change's error in errs.
type groupCall struct {
	chs  []wire.Change
	errs []error
	fn   func(ctx context.Context) error
}

// prepared is one message of a grouped cycle as plan decoded it.
type prepared struct {
	ch      wire.Change
	decode  time.Duration // the decode stage of its cost
	costKey cost.Event
	invalid error // the decode error: the message is rejected with its reason
	spent   error // earlier deliveries spent its budget: dead-lettered with this cause
}

func (pr *prepared) valid() bool { return pr.invalid == nil && pr.spent == nil }

// groupRun is what the work on one group came to.
type groupRun struct {
	errs     []error // each change's own error, one per change
	lead     int     // the change the deployment is reported under (and counted in)
	deployed int     // artifacts written
	stage    string  // "regenerate" or "deploy": where err failed the whole group
	err      error
}

// processGrouped is processAll for a grouped cycle: the heartbeat covers
// every message from the start, plan makes the units of work, and the
// pool grows up to min(limit, units) workers.
func (o *Orchestrator) processGrouped(r *run, execID string, msgs []wire.Message, limit int, processed func()) *cyclePool {
	p := &groupPool{cyclePool: cyclePool{o: o, r: r, execID: execID, msgs: msgs,
		results: make([]result, len(msgs)), done: make([]atomic.Bool, len(msgs))}}
	defer o.heartbeat(msgs, p.done)()
	p.plan(o.group)
	p.max = int64(min(limit, len(p.units)))
	p.runWorkers(p.work, processed)
	return &p.cyclePool
}

// plan prepares every message of the cycle and makes its units of work.
func (p *groupPool) plan(ge GroupEngine) {
	p.prep = make([]prepared, len(p.msgs))
	for i, m := range p.msgs {
		p.prep[i] = p.o.prepare(p.r.workCtx, p.execID, m)
	}
	p.units = p.group(ge)
}

// prepare decodes m and checks its delivery budget, as process does.
func (o *Orchestrator) prepare(ctx context.Context, execID string, m wire.Message) prepared {
	start := time.Now()
	ev, err := wire.DecodeMessage(m, o.cfg.MaxPayload)
	pr := prepared{ch: wire.Change{Event: ev, Seq: m.Seq(), Deliveries: m.Deliveries(), ExecutionID: execID},
		decode: time.Since(start), costKey: costKey(ev, m)}
	if err != nil {
		pr.invalid = err
		return pr
	}
	if cause, spent := o.exhausted(ctx, m); spent {
		pr.spent = cause
	}
	return pr
}

// group returns the units of work of the prepared messages, in the order
// of the batch: the valid messages with the same non-empty key together,
// in stream-sequence order, and every other message alone.
func (p *groupPool) group(ge GroupEngine) [][]int {
	units, byKey := make([][]int, 0, len(p.msgs)), map[string]int{}
	for i := range p.prep {
		key := ""
		if p.prep[i].valid() {
			key = ge.GroupKey(p.prep[i].ch.Event)
		}
		u, ok := byKey[key]
		if key == "" || !ok {
			u = len(units)
			units = append(units, nil)
		}
		if key != "" && !ok {
			byKey[key] = u
		}
		units[u] = append(units[u], i)
	}
	for _, unit := range units {
		slices.SortStableFunc(unit, func(a, b int) int { return cmp.Compare(p.msgs[a].Seq(), p.msgs[b].Seq()) })
	}
	return units
}

// work is one worker of a grouped cycle: it takes units until none is
// left, each under one gate slot.
func (p *groupPool) work() {
	w := p.o.getWorker()
	defer p.o.putWorker(w)
	for u := int(p.next.Add(1) - 1); u < len(p.units); u = int(p.next.Add(1) - 1) {
		if !p.o.gate.acquire(p.r.fetchCtx) {
			p.releaseUnit(p.units[u])
			continue
		}
		p.take()
		p.processUnit(w, p.units[u])
		p.inFlight.Add(-1)
		p.o.gate.release()
	}
}

// take is cyclePool.take for units of work.
func (p *groupPool) take() {
	if p.grow(len(p.units)) {
		p.workers.Go(p.work)
	}
}

// releaseUnit puts back every message of a unit never started (Stop began).
func (p *groupPool) releaseUnit(unit []int) {
	for _, i := range unit {
		p.results[i] = p.o.release(p.msgs[i], p.execID)
		p.done[i].Store(true)
	}
}

// processUnit processes a unit of work: a group, or one message alone.
func (p *groupPool) processUnit(w *worker, unit []int) {
	if len(unit) > 1 {
		p.processGroup(w, unit)
		return
	}
	i := unit[0]
	p.o.inFlight.Add(1)
	start := time.Now()
	ctx, span := startDelivery(p.r.workCtx, p.msgs[i])
	res := w.processPrepared(ctx, p.msgs[i], &p.prep[i], start)
	res.span = span
	w.rec.AddStage(cost.Decode, p.prep[i].decode)
	res.costKey = p.prep[i].costKey
	w.foldCost(start, res.costKey)
	p.o.inFlight.Add(-1)
	p.record(i, res, start)
}

// processPrepared drives one prepared message m, started at start, as
// process does.
func (w *worker) processPrepared(ctx context.Context, m wire.Message, pr *prepared, start time.Time) result {
	o, ch := w.o, pr.ch
	if pr.invalid != nil {
		return o.reject(ctx, ch.ExecutionID, m, ch.Event.ID, pr.invalid)
	}
	if pr.spent != nil {
		return o.deadLetter(ctx, m, ch.ExecutionID, ch.Event.ID, wire.ReasonMaxDeliveries, pr.spent)
	}
	return w.processChange(ctx, m, ch, start)
}

// processGroup processes the messages of unit, a group: one
// RegenerateGroup and one deploy, then each message's own outcome,
// recorded (and acked) in turn.
func (p *groupPool) processGroup(w *worker, unit []int) {
	o, ctx := p.o, p.r.workCtx
	o.inFlight.Add(int64(len(unit)))
	start := time.Now()
	chs, keys := make([]wire.Change, len(unit)), make([]cost.Event, len(unit))
	for k, i := range unit {
		chs[k], keys[k] = p.prep[i].ch, p.prep[i].costKey
		w.rec.AddStage(cost.Decode, p.prep[i].decode)
	}
	spans := p.startDeliveries(unit)
	g := w.runGroup(spans.ctx(ctx, 0), chs, start)
	w.foldCost(start, keys...)
	for k, i := range unit {
		res := o.groupOutcome(spans.ctx(ctx, k), p.msgs[i], chs[k], k, g)
		res.costKey, res.span = keys[k], spans.span(k)
		o.inFlight.Add(-1)
		p.record(i, res, start)
	}
}

// groupSpans are the delivery spans of a group's messages and their
// contexts, one per change; nil with tracing off.
type groupSpans struct {
	ctxs  []context.Context
	spans []trace.Span
}

// startDeliveries starts the delivery span of every message of unit. The
// group's shared work (one engine call, one deploy) runs under the first
// one's span; every other span links to it (regen.link.type =
// grouped_with), so each message's trace leads to the work done for it.
func (p *groupPool) startDeliveries(unit []int) groupSpans {
	if tracing.Default() == nil {
		return groupSpans{}
	}
	g := groupSpans{ctxs: make([]context.Context, len(unit)), spans: make([]trace.Span, len(unit))}
	for k, i := range unit {
		g.ctxs[k], g.spans[k] = startDelivery(p.r.workCtx, p.msgs[i])
		g.spans[k].SetAttributes(groupSizeKey.Int(len(unit)))
		if k > 0 {
			g.spans[k].AddLink(tracing.GroupedWith(g.spans[0].SpanContext()))
		}
	}
	return g
}

// groupSizeKey is the attribute of a grouped delivery span: how many
// changes the group applied at once.
const groupSizeKey = attribute.Key("regen.group.size")

// ctx is the context of change k: its delivery span's, or base.
func (g groupSpans) ctx(base context.Context, k int) context.Context {
	if g.ctxs == nil {
		return base
	}
	return g.ctxs[k]
}

// span is the delivery span of change k (nil with tracing off).
func (g groupSpans) span(k int) trace.Span {
	if g.spans == nil {
		return nil
	}
	return g.spans[k]
}

// newGroupCall builds w's call of ge.RegenerateGroup.
func newGroupCall(w *worker, ge GroupEngine) *groupCall {
	g := &groupCall{}
	g.fn = func(ctx context.Context) error {
		var err error
		w.arts, g.errs, err = ge.RegenerateGroup(ctx, g.chs)
		return err
	}
	return g
}

// runGroup applies chs, a group started at start, through the engine
// guard and deploys the group's artifacts once, reported under its lead.
// The group shares one event timeout.
func (w *worker) runGroup(ctx context.Context, chs []wire.Change, start time.Time) groupRun {
	o := w.o
	evCtx, cancel := deadline.WithDeadlineValue(ctx, start.Add(o.cfg.EventTimeout), w.startedHook)
	defer cancel()
	w.group.chs, w.traceID = chs, tracing.TraceID(ctx)
	defer w.resetGroup()
	if err := o.limitEngine(evCtx, chs...); err != nil {
		return groupRun{stage: "regenerate", err: err}
	}
	if err := w.regenerateGroup(evCtx); err != nil {
		return groupRun{stage: "regenerate", err: err}
	}
	errs, err := changeErrs(w.group.errs, len(chs))
	if err != nil {
		return groupRun{stage: "regenerate", err: err}
	}
	g := groupRun{errs: errs, lead: lead(errs)}
	w.ch = chs[g.lead]
	if g.deployed, g.err = w.deployAll(evCtx); g.err != nil {
		g.stage = "deploy"
	}
	return g
}

// regenerateGroup calls the engine on the group through the engine guard,
// a regenerate span in a traced group.
func (w *worker) regenerateGroup(ctx context.Context) error {
	ctx, span := tracing.StartStage(ctx, tracing.StageRegenerate)
	err := w.o.deps.EngineGuard.Do(ctx, w.group.fn)
	if span.IsRecording() {
		span.SetAttributes(tracing.ArtifactsKey.Int(len(w.arts)), groupSizeKey.Int(len(w.group.chs)))
	}
	tracing.End(span, err)
	return err
}

// resetGroup drops the finished group's references.
func (w *worker) resetGroup() {
	w.reset()
	w.group.chs, w.group.errs = nil, nil
}

// changeErrs checks the per-change errors RegenerateGroup returned for n
// changes: one per change, or none at all (every change applied).
func changeErrs(errs []error, n int) ([]error, error) {
	switch len(errs) {
	case n:
		return errs, nil
	case 0:
		return make([]error, n), nil
	}
	return nil, fmt.Errorf("regenerate group: %d errors for %d changes", len(errs), n)
}

// lead is the last change that was applied (errs[k] nil), or the last
// change when none was: the group's deployment telemetry names its event.
func lead(errs []error) int {
	for k := len(errs) - 1; k >= 0; k-- {
		if errs[k] == nil {
			return k
		}
	}
	return len(errs) - 1
}

// groupOutcome settles change k of the group g (ch, of message m) by the
// ack policy: a group-wide regenerate error fails it; its own error fails
// it as Regenerate's would; otherwise it follows the group's deploy. Only
// the lead's result counts the group's deployments.
func (o *Orchestrator) groupOutcome(ctx context.Context, m wire.Message, ch wire.Change, k int, g groupRun) result {
	if g.err != nil && g.stage == "regenerate" {
		return o.fail(ctx, m, ch, g.stage, g.err)
	}
	if g.errs[k] != nil {
		return o.fail(ctx, m, ch, "regenerate", g.errs[k])
	}
	deployed := 0
	if k == g.lead {
		deployed = g.deployed
	}
	if g.err != nil {
		res := o.fail(ctx, m, ch, g.stage, g.err)
		res.regenerated, res.deployments = true, deployed
		return res
	}
	res := succeeded(ch.Event.ID, g.deployed)
	res.deployments = deployed
	return res
}
