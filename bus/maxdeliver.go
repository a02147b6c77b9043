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
	nc       *nats.Conn
	js       jetstream.JetStream
	dlq      *DeadLetters
	consumer string
	every    time.Duration
	log      *slog.Logger
	onReap   func(seq uint64)

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
	Every    time.Duration // sweep period (ReapEveryDefault)
	Logger   *slog.Logger
	// OnReap, when set, is called for every message moved to the DLQ.
	OnReap func(seq uint64)
}

// NewReaper returns a stopped Reaper.
func NewReaper(nc *nats.Conn, js jetstream.JetStream, cfg ReaperConfig) *Reaper {
	r := &Reaper{nc: nc, js: js, dlq: NewDeadLetters(js), consumer: cmp.Or(cfg.Consumer, wire.ConsumerDefault),
		every: cmp.Or(cfg.Every, ReapEveryDefault), log: cfg.Logger, onReap: cfg.OnReap}
	if r.log == nil {
		r.log = slog.Default()
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
	for {
		if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("max-deliveries sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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
// idle, at or below its last delivered sequence.
func (r *Reaper) Sweep(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, floor, maxDeliver, err := r.bounds(ctx)
	if err != nil || maxDeliver == 0 {
		return 0, err // no MaxDeliver: the server gives nothing up
	}
	n := 0
	for seq := first; seq != 0 && seq <= floor; seq++ {
		err := r.reap(ctx, seq, maxDeliver)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// bounds returns the stream's first sequence, the consumer's ack floor and
// its MaxDeliver.
func (r *Reaper) bounds(ctx context.Context) (first, floor, maxDeliver uint64, err error) {
	cons, err := r.js.Consumer(ctx, wire.ChangesStream, r.consumer)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sweep: consumer: %w", err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sweep: consumer info: %w", err)
	}
	st, err := r.js.Stream(ctx, wire.ChangesStream)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sweep: stream: %w", err)
	}
	si, err := st.Info(ctx)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sweep: stream info: %w", err)
	}
	floor = ci.AckFloor.Stream
	if ci.NumAckPending == 0 && ci.NumPending == 0 {
		// Idle: the ack floor stays below an exhausted message until a later
		// one is acked, but nothing delivered can still be in flight.
		floor = ci.Delivered.Stream
	}
	return si.State.FirstSeq, floor, uint64(max(ci.Config.MaxDeliver, 0)), nil
}
