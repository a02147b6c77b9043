// Command watermill is the Watermill side of `regen bench`: it measures the
// Watermill Router consuming with the watermill-nats/v2 JetStream
// subscriber (pkg/jetstream) at its default settings, on one workload, and
// prints one JSON object on stdout.
//
//	go run . -url nats://127.0.0.1:4222 -events 20000 -work 0
//	go run . -url nats://127.0.0.1:4222 -events 500 -work 10ms
//
// It lives in its own Go module so that regen itself never depends on
// Watermill. The only deviation from the defaults is the logger: a
// NopLogger instead of the default stdout logger, which would print a line
// for every message (that only makes Watermill look better).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// result is what the parent (regen bench) reads.
type result struct {
	Events        int     `json:"events"`
	Seconds       float64 `json:"seconds"`
	EventsPerSec  float64 `json:"events_per_s"`
	WorkMS        float64 `json:"work_ms"`
	Subscriber    string  `json:"subscriber"`
	Watermill     string  `json:"watermill"`
	WatermillNATS string  `json:"watermill_nats"`
}

func main() {
	url := flag.String("url", nats.DefaultURL, "NATS server URL")
	events := flag.Int("events", 1000, "events to publish and consume")
	work := flag.Duration("work", 0, "time the handler waits per event (0 = no-op)")
	topic := flag.String("topic", "", "topic (= stream name); default a fresh one")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *topic == "" {
		*topic = "wmbench_" + uuid.NewString()[:8]
	}
	res, err := run(ctx, *url, *topic, *events, *work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "watermill bench:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, url, topic string, n int, work time.Duration) (result, error) {
	if err := fill(ctx, url, topic, n); err != nil {
		return result{}, err
	}
	d, err := consume(ctx, url, topic, n, work)
	if err != nil {
		return result{}, err
	}
	wm, wmn := versions()
	return result{Events: n, Seconds: d.Seconds(), EventsPerSec: float64(n) / d.Seconds(),
		WorkMS: float64(work) / float64(time.Millisecond), Subscriber: "watermill-nats/v2/pkg/jetstream",
		Watermill: wm, WatermillNATS: wmn}, nil
}

// fill creates the topic's stream as the subscriber would and publishes n
// change events (the same shape regen consumes).
func fill(ctx context.Context, url, topic string, n int) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}}); err != nil {
		return fmt.Errorf("stream %s: %w", topic, err)
	}
	for i := range n {
		if err := publishOne(js, topic, i); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fill: %w", ctx.Err())
	}
}

func publishOne(js jetstream.JetStream, topic string, i int) error {
	id := uuid.NewString()
	data, err := json.Marshal(map[string]any{"id": id, "change_type": "node_added",
		"timestamp": time.Now().UTC(), "subject": fmt.Sprintf("urn:bench:Node%d", i%1000),
		"properties": map[string]any{"rdfs:label": fmt.Sprintf("Node %d", i), "n": i}, "source": "bench"})
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	msg := nats.NewMsg(topic)
	msg.Data = data
	msg.Header.Set("_watermill_message_uuid", id)
	if _, err := js.PublishMsgAsync(msg); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// consume runs a Router with one handler until n messages were handled and
// returns how long that took from Run.
func consume(ctx context.Context, url, topic string, n int, work time.Duration) (time.Duration, error) {
	logger := watermill.NopLogger{}
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{URL: url, Logger: logger})
	if err != nil {
		return 0, fmt.Errorf("subscriber: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		return 0, fmt.Errorf("router: %w", err)
	}
	var handled atomic.Int64
	done := make(chan struct{})
	router.AddConsumerHandler("bench", topic, sub, func(msg *message.Message) error {
		if work > 0 {
			wait(msg.Context(), work)
		}
		if handled.Add(1) == int64(n) {
			close(done)
		}
		return nil
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(runCtx) }()
	select {
	case <-done:
	case err := <-runErr:
		return 0, errors.Join(errors.New("router stopped early"), err)
	case <-ctx.Done():
		return 0, fmt.Errorf("consume: %d of %d handled: %w", handled.Load(), n, ctx.Err())
	}
	d := time.Since(start)
	_ = router.Close()
	return d, nil
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// versions reports the Watermill module versions this binary was built with.
func versions() (string, string) {
	var wm, wmn string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/ThreeDotsLabs/watermill":
				wm = d.Version
			case "github.com/ThreeDotsLabs/watermill-nats/v2":
				wmn = d.Version
			}
		}
	}
	return wm, wmn
}
