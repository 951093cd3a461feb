package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// countingPublisher publishes through the real Kafka publisher and signals
// once a target number of events is acknowledged.
type countingPublisher struct {
	outbox.Publisher
	mu      sync.Mutex
	count   int
	target  int
	reached chan struct{}
}

func (p *countingPublisher) expect(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count, p.target, p.reached = 0, n, make(chan struct{})
	return p.reached
}

func (p *countingPublisher) Publish(ctx context.Context, topic string, events []eventstore.Record) error {
	if err := p.Publisher.Publish(ctx, topic, events); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.count
	p.count += len(events)
	if before < p.target && p.count >= p.target {
		close(p.reached)
	}
	return nil
}

func benchSetup(b *testing.B) (*testenv.Env, *eventstore.Store, string, *countingPublisher) {
	b.Helper()
	env := testenv.New(b)
	topic := env.Config.Topic(messages.EventsTopic(schema))
	if err := kafka.EnsureTopics(env.Config.KafkaBrokers, 8, topic); err != nil {
		b.Fatal(err)
	}
	kp := outbox.NewKafkaPublisher(env.Config.KafkaBrokers, "outbox-bench")
	b.Cleanup(func() { _ = kp.Close() })
	return env, eventstore.New(env.Pool, schema), topic, &countingPublisher{Publisher: kp}
}

// appendBacklog appends n events, 100 per transaction and stream, the way
// a busy context would have them waiting.
func appendBacklog(b *testing.B, store *eventstore.Store, n int) {
	b.Helper()
	ctx := context.Background()
	const perTx = 100
	for done := 0; done < n; done += perTx {
		id := "product-" + uuid.NewString()
		events := make([]messages.Event, perTx)
		events[0] = messages.ProductCreated{ProductID: id, SKU: id[8:20], Name: "Desk lamp", Price: 1999, InitialStock: 100}
		for i := 1; i < perTx; i++ {
			events[i] = messages.StockReserved{ProductID: id, OrderID: "order-" + uuid.NewString(), Quantity: 1}
		}
		err := pgx.BeginFunc(ctx, store.Pool(), func(tx pgx.Tx) error {
			_, err := store.Append(ctx, tx, id, "Product", 0, eventstore.Metadata{CorrelationID: id, CausationID: uuid.NewString()}, events...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRelayThroughput times a relay draining a backlog of events into
// the real Kafka (8 partitions, acks=all, idempotent producer). Each round
// appends the backlog with the timer stopped, then starts a relay and stops
// the clock when Kafka acknowledged the last event. Run with -benchtime=Nx.
func BenchmarkRelayThroughput(b *testing.B) {
	const backlog = 20_000
	for _, batch := range []int{100, outbox.DefaultBatchSize, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			env, store, topic, pub := benchSetup(b)
			cfg := outbox.Config{Schema: schema, Topic: topic, BatchSize: batch}
			var published int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				appendBacklog(b, store, backlog)
				reached := pub.expect(backlog)
				relay, err := outbox.New(env.Pool, pub, cfg, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				b.StartTimer()

				start := time.Now()
				go func() { done <- relay.Run(ctx) }()
				select {
				case <-reached:
				case <-time.After(5 * time.Minute):
					b.Fatal("relay did not drain the backlog within 5 minutes")
				}
				elapsed += time.Since(start)
				published += backlog

				b.StopTimer()
				cancel()
				<-done
				b.StartTimer()
			}
			b.ReportMetric(float64(published)/elapsed.Seconds(), "events/s")
		})
	}
}

// BenchmarkRelayLatency times one event from the commit of its append to
// Kafka's acknowledgement, with the relay idle in between: the
// wait after its last read (MinPollInterval), the read, and the produce
// round trip.
func BenchmarkRelayLatency(b *testing.B) {
	env, store, topic, pub := benchSetup(b)
	relay, err := outbox.New(env.Pool, pub, outbox.Config{Schema: schema, Topic: topic}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	defer func() { cancel(); <-done }()

	id := "product-" + uuid.NewString()
	version := 0
	var latency time.Duration
	for b.Loop() {
		reached := pub.expect(1)
		err := pgx.BeginFunc(ctx, store.Pool(), func(tx pgx.Tx) error {
			_, err := store.Append(ctx, tx, id, "Product", version, eventstore.Metadata{}, messages.ProductRestocked{ProductID: id, Quantity: 1})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		version++
		select {
		case <-reached:
		case <-time.After(time.Minute):
			b.Fatal("event not published within a minute")
		}
		latency += time.Since(committed)
	}
	b.ReportMetric(float64(latency.Microseconds())/float64(b.N)/1000, "ms/event")
}
