package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reaper moves messages that exhausted MaxDeliver from the work-queue
// stream to the DLQ. JetStream keeps such a message in a work-queue stream
// and only says so in an advisory, which is dropped when nobody listens; so
// the Reaper both handles advisories (one replica per advisory, through a
// queue group) and sweeps periodically (see Sweep).
type Reaper struct {
	nc          *nats.Conn
	js          jetstream.JetStream
	dlq         *DeadLetters
	consumer    string
	every       time.Duration
	log         *slog.Logger
	onReap      func(seq uint64)
	alertRatio  float64
	onNearLimit func(DLQUsage)
	strays      bool
	straysEvery time.Duration

	sub    *nats.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // one sweep or advisory at a time
}

// ReapEveryDefault is the Reaper's default sweep period.
const ReapEveryDefault = time.Minute

// ReaperConfig configures NewReaper.
type ReaperConfig struct {
	Consumer string        // wire.ConsumerDefault
	Every    time.Duration // sweep and DLQ check period (ReapEveryDefault)
	Logger   *slog.Logger
	// DeadLetters is the DLQ messages are moved to (NewDeadLetters(js)).
	DeadLetters *DeadLetters
	// OnReap, when set, is called for every message moved to the DLQ.
	OnReap func(seq uint64)
	// AlertRatio is the share of a REGEN_DLQ limit (bytes or messages)
	// from which every check warns (DLQAlertRatioDefault, 0.8).
	AlertRatio float64
	// OnDLQNearLimit, when set, is called by every check that finds the
	// DLQ at or over AlertRatio (publish DLQNearLimitEvent from it).
	OnDLQNearLimit func(DLQUsage)
	// Strays makes the reaper also dead-letter the events of an unknown
	// priority (SweepStrays) at start and every StraysEvery: set it on one
	// reaper when the consumers are per level.
	Strays bool
	// StraysEvery is the unknown-priority sweep period
	// (StraysEveryDefault). One sweep is one stream-info request while
	// there are none.
	StraysEvery time.Duration
}

// StraysEveryDefault is the default ReaperConfig.StraysEvery: an event
// of an unknown priority, which no level consumer delivers, is in the DLQ
// within about this long of its publication.
const StraysEveryDefault = 5 * time.Second

// DLQAlertRatioDefault is the default ReaperConfig.AlertRatio.
const DLQAlertRatioDefault = 0.8

// maxSweepErrors bounds the failures a sweep logs and keeps one by one.
const maxSweepErrors = 10

// NewReaper returns a stopped Reaper.
func NewReaper(nc *nats.Conn, js jetstream.JetStream, cfg ReaperConfig) *Reaper {
	r := &Reaper{nc: nc, js: js, dlq: cfg.DeadLetters, consumer: cmp.Or(cfg.Consumer, wire.ConsumerDefault),
		every: cmp.Or(cfg.Every, ReapEveryDefault), log: cfg.Logger, onReap: cfg.OnReap,
		alertRatio: cfg.AlertRatio, onNearLimit: cfg.OnDLQNearLimit, strays: cfg.Strays,
		straysEvery: cmp.Or(cfg.StraysEvery, StraysEveryDefault)}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.dlq == nil {
		r.dlq = NewDeadLetters(js)
	}
	if r.alertRatio <= 0 {
		r.alertRatio = DLQAlertRatioDefault
	}
	return r
}

// Start subscribes to the max-deliveries advisory, sweeps once, and keeps
// sweeping every period until Stop.
func (r *Reaper) Start(ctx context.Context) error {
	subj := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + wire.ChangesStream + "." + r.consumer
	sub, err := r.nc.QueueSubscribe(subj, "regen-reaper", r.onAdvisory)
	if err != nil {
		return fmt.Errorf("reaper subscribe: %w", err)
	}
	r.sub = sub
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.wg.Go(func() { r.loop(loopCtx) })
	return nil
}

// Stop unsubscribes and waits for a sweep in progress.
func (r *Reaper) Stop() {
	if r.sub != nil {
		_ = r.sub.Unsubscribe()
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *Reaper) loop(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	var strays <-chan time.Time // nil (never ready) without Strays
	if r.strays {
		st := time.NewTicker(r.straysEvery)
		defer st.Stop()
		strays = st.C
	}
	for {
		if n, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("max-deliveries sweep incomplete", slog.Int("moved", n), slog.Any("error", err))
		}
		r.sweepStrays(ctx)
		r.checkDLQ(ctx)
		if !r.waitStrays(ctx, t.C, strays) {
			return
		}
	}
}

// waitStrays sweeps strays on every tick of strays until the next tick
// of every; false once ctx ends.
func (r *Reaper) waitStrays(ctx context.Context, every, strays <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-every:
			return true
		case <-strays:
			r.sweepStrays(ctx)
		}
	}
}

// sweepStrays runs SweepStrays when configured, logging what it did.
func (r *Reaper) sweepStrays(ctx context.Context) {
	if !r.strays {
		return
	}
	n, err := SweepStrays(ctx, r.js, r.dlq)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("unknown-priority sweep incomplete", slog.Int("moved", n), slog.Any("error", err))
	} else if n > 0 {
		r.log.Warn("events of an unknown priority dead-lettered", slog.Int("moved", n))
	}
}

func (r *Reaper) onAdvisory(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if err := json.Unmarshal(m.Data, &adv); err != nil || adv.StreamSeq == 0 {
		r.log.Warn("bad max-deliveries advisory", slog.String("payload", string(m.Data)))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reap(ctx, adv.StreamSeq, adv.Deliveries); err != nil {
		r.log.Warn("max-deliveries advisory: not moved; the sweep will retry",
			slog.Uint64("seq", adv.StreamSeq), slog.Any("error", err))
	}
}

// Sweep moves every given-up message to the DLQ and returns how many it
// moved: those still stored at or below the consumer's ack floor (acked and
// terminated ones are gone from the work queue), or, when the consumer is
// idle, at or below its last delivered sequence. A message that cannot be
// moved (the DLQ refuses it) stays in the work queue for the next sweep
// and does not stop this one: each is logged with its sequence, and the
// error is a *SweepError counting them. It stops early only when ctx ends.
func (r *Reaper) Sweep(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := r.bounds(ctx)
	if err != nil || b.maxDeliver == 0 {
		return 0, err // no MaxDeliver: the server gives nothing up
	}
	n := 0
	var failed SweepError
	for seq := b.first; seq != 0 && seq <= b.floor && ctx.Err() == nil; seq++ {
		err := r.reapIn(ctx, seq, b.maxDeliver, b.filter)
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, errOtherConsumer) {
			continue
		}
		if err != nil {
			r.noteFailure(&failed, seq, err)
			continue
		}
		n++
	}
	if ctx.Err() != nil {
		return n, errors.Join(failed.orNil(), ctx.Err())
	}
	return n, failed.orNil()
}

// noteFailure counts a message the sweep could not move and logs the
// first maxSweepErrors of them.
func (r *Reaper) noteFailure(e *SweepError, seq uint64, err error) {
	e.Failed++
	if len(e.Errs) < maxSweepErrors {
		e.Errs = append(e.Errs, err)
		r.log.Warn("max-deliveries sweep: message not moved; the next sweep retries",
			slog.Uint64("seq", seq), slog.Any("error", err))
	}
}

// SweepError reports the messages a sweep could not move to the DLQ.
type SweepError struct {
	// Failed counts them.
	Failed int
	// Errs are the first ten errors (each names its sequence).
	Errs []error
}

// Error names the count and the errors kept.
func (e *SweepError) Error() string {
	msg := fmt.Sprintf("sweep: %d messages not moved to the DLQ", e.Failed)
	if len(e.Errs) > 0 {
		msg += ": " + errors.Join(e.Errs...).Error()
	}
	if more := e.Failed - len(e.Errs); more > 0 {
		msg += fmt.Sprintf(" (and %d more)", more)
	}
	return msg
}

// Unwrap returns the errors kept.
func (e *SweepError) Unwrap() []error { return e.Errs }

func (e *SweepError) orNil() error {
	if e.Failed == 0 {
		return nil
	}
	return e
}

// checkDLQ warns, and calls OnDLQNearLimit, when REGEN_DLQ is at or over
// the alert ratio of a limit: at the limit it refuses new dead letters.
func (r *Reaper) checkDLQ(ctx context.Context) {
	u, err := r.dlq.Usage(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("dlq usage check failed", slog.Any("error", err))
		}
		return
	}
	if u.Ratio() < r.alertRatio {
		return
	}
	r.log.Warn("REGEN_DLQ is near its limit; at the limit new dead letters are refused and their events stay in the work queue",
		slog.Uint64("msgs", u.Msgs), slog.Int64("max_msgs", u.MaxMsgs), slog.Uint64("bytes", u.Bytes),
		slog.Int64("max_bytes", u.MaxBytes), slog.Float64("ratio", u.Ratio()))
	if r.onNearLimit != nil {
		r.onNearLimit(u)
	}
}

// sweepBounds is what a sweep covers: the stream's first sequence up to
// the consumer's ack floor, the messages on the consumer's filter only
// (a per-level consumer's floor says nothing of the other levels').
type sweepBounds struct {
	first, floor, maxDeliver uint64
	filter                   string
}

// bounds returns the stream's first sequence, the consumer's ack floor,
// its MaxDeliver and its filter.
func (r *Reaper) bounds(ctx context.Context) (sweepBounds, error) {
	cons, err := r.js.Consumer(ctx, wire.ChangesStream, r.consumer)
	if err != nil {
		return sweepBounds{}, fmt.Errorf("sweep: consumer: %w", err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return sweepBounds{}, fmt.Errorf("sweep: consumer info: %w", err)
	}
	st, err := r.js.Stream(ctx, wire.ChangesStream)
	if err != nil {
		return sweepBounds{}, fmt.Errorf("sweep: stream: %w", err)
	}
	si, err := st.Info(ctx)
	if err != nil {
		return sweepBounds{}, fmt.Errorf("sweep: stream info: %w", err)
	}
	floor := ci.AckFloor.Stream
	if ci.NumAckPending == 0 && ci.NumPending == 0 {
		// Idle: the ack floor stays below an exhausted message until a later
		// one is acked, but nothing delivered can still be in flight.
		floor = ci.Delivered.Stream
	}
	return sweepBounds{first: si.State.FirstSeq, floor: floor, maxDeliver: uint64(max(ci.Config.MaxDeliver, 0)),
		filter: ci.Config.FilterSubject}, nil
}
