package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/regen-dev/regen/bus/wire"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SourceConfig configures NewSource.
type SourceConfig struct {
	// Stream and Consumer name the durable pull consumer
	// (wire.ChangesStream / wire.ConsumerDefault).
	Stream, Consumer string
	// AsyncAck acks without waiting for the server's confirmation.
	AsyncAck bool
	// AckTimeout bounds the wait for an ack's confirmation
	// (AckTimeoutDefault when 0).
	AckTimeout time.Duration
}

// Source fetches batches of change events from the shared durable consumer.
// It is safe for concurrent use: several fetches may run at once, and
// messages may be acked from many goroutines.
type Source struct {
	js   jetstream.JetStream
	cfg  SourceConfig
	conf *confirmer // nil with AsyncAck

	mu       sync.Mutex // guards consumer, which a rebind replaces
	consumer jetstream.Consumer
}

// NewSource binds to the durable consumer (which Provision created).
func NewSource(ctx context.Context, js jetstream.JetStream, cfg SourceConfig) (*Source, error) {
	cfg.Stream = cmp.Or(cfg.Stream, wire.ChangesStream)
	cfg.Consumer = cmp.Or(cfg.Consumer, wire.ConsumerDefault)
	s := &Source{js: js, cfg: cfg}
	if err := s.bind(ctx); err != nil {
		return nil, err
	}
	if !cfg.AsyncAck {
		conf, err := newConfirmer(js.Conn(), cfg.AckTimeout)
		if err != nil {
			return nil, err
		}
		s.conf = conf
	}
	return s, nil
}

func (s *Source) bind(ctx context.Context) error {
	c, err := s.js.Consumer(ctx, s.cfg.Stream, s.cfg.Consumer)
	if err != nil {
		return fmt.Errorf("bind consumer %s/%s: %w", s.cfg.Stream, s.cfg.Consumer, err)
	}
	s.mu.Lock()
	s.consumer = c
	s.mu.Unlock()
	return nil
}

func (s *Source) current() jetstream.Consumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumer
}

// Fetch returns up to limit messages, waiting at most wait for the first.
// An empty batch with a nil error means nothing is pending. It takes what
// is there at once; when nothing is, it waits for one message only and then
// tops the batch up with what arrived meanwhile, so a lone event is not
// held back until a bigger batch fills or the wait runs out. Every pull
// ends before Fetch returns: no message is left in a client buffer.
func (s *Source) Fetch(ctx context.Context, limit int, wait time.Duration) ([]wire.Message, error) {
	out, err := s.pull(ctx, limit, 0)
	if err != nil || len(out) > 0 {
		return out, err
	}
	out, err = s.pull(ctx, 1, max(wait, time.Millisecond))
	if err != nil || len(out) == 0 || limit == 1 {
		return out, err
	}
	more, err := s.pull(ctx, limit-1, 0)
	if err != nil {
		return out, nil // the next Fetch reports it; keep what was delivered
	}
	return append(out, more...), nil
}

// pull runs one pull request for up to n messages: without waiting when
// wait is 0, else until n arrived or wait passed.
func (s *Source) pull(ctx context.Context, n int, wait time.Duration) ([]wire.Message, error) {
	var batch jetstream.MessageBatch
	var err error
	if c := s.current(); wait == 0 {
		batch, err = c.FetchNoWait(n)
	} else {
		batch, err = c.Fetch(n, jetstream.FetchMaxWait(wait))
	}
	if err != nil {
		return nil, s.fetchErr(ctx, err)
	}
	out := make([]wire.Message, 0, n)
	var held []jsMsg // one allocation for the batch's wrappers
	for m := range batch.Messages() {
		if len(held) == cap(held) {
			held = make([]jsMsg, 0, n-len(out))
		}
		held = append(held, jsMsg{})
		jm := &held[len(held)-1]
		jm.init(m, s.conf)
		out = append(out, jm)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(out) == 0 {
		return nil, s.fetchErr(ctx, err)
	}
	return out, nil
}

// fetchErr rebinds after the consumer vanished (deleted, leader change).
func (s *Source) fetchErr(ctx context.Context, err error) error {
	if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
		if berr := s.bind(ctx); berr != nil {
			return errors.Join(err, berr)
		}
	}
	return fmt.Errorf("fetch: %w", err)
}

// Pending reports messages not yet delivered plus those awaiting ack.
func (s *Source) Pending(ctx context.Context) (uint64, error) {
	info, err := s.current().Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer info: %w", err)
	}
	return Backlog(info), nil
}

// Backlog is a consumer's pending work: the messages not yet delivered
// plus those awaiting ack (num_pending + num_ack_pending, the lag KEDA's
// nats-jetstream scaler reads too).
func Backlog(info *jetstream.ConsumerInfo) uint64 {
	return info.NumPending + uint64(info.NumAckPending)
}
