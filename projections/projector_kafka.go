package projections

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

// KafkaSource is where the live projector reads the event topics.
type KafkaSource struct {
	Brokers  []string
	ClientID string
	// Topic namespaces a base topic name, Group a consumer group name
	// (config.Config.Topic and ConsumerGroup).
	Topic, Group func(string) string
	// Metrics, when set, records message age and batch handling time per
	// projection (under the handler name).
	Metrics *consumer.Metrics
	// Middleware wraps each projection's batch handler (fault injection).
	Middleware []consumer.Middleware
	// DeadLetters, when set, parks the events a projection cannot apply.
	DeadLetters *consumer.DeadLetters
}

// NewConsumer returns the live projectors: one consumer group per
// projection (the handler name constants; a new group starts at the oldest
// offset, so a fresh projector replays all history) on its context's event
// topic, on the consumer loop (internal/consumer).
//
// Each partition is read in batches: whatever the partition has ready (up
// to MaxBatch) is submitted at once, and the batches the partitions have
// ready within BatchLinger go in one call (the consumer loop's Combine),
// so one mget and one bulk request carry many events. The partition's
// offset is marked only once the batch is written (or found stale, or its
// documents held); a failing batch is split down to the failing event,
// which is retried alone a few times and then parked in the dead-letter
// store with its stream's later events behind it (with src.DeadLetters;
// without, it blocks its partition until it is written): nothing is
// skipped.
func (p *Projector) NewConsumer(src KafkaSource) (*consumer.Set, error) {
	var cs []*consumer.Consumer
	for _, n := range Names() {
		d := p.defs[n]
		h := p.handleBatch(n)
		for _, mw := range src.Middleware {
			h = mw(h)
		}
		c, err := consumer.New(consumer.Config{
			Name: d.handlerName, Group: src.Group(d.handlerName),
			Topics:  []string{src.Topic(messages.EventsTopic(string(d.context)))},
			Brokers: src.Brokers, ClientID: src.ClientID, MaxBatch: p.cfg.MaxBatch, FetchWait: p.cfg.FetchWait,
			Combine: true, CombineLinger: p.cfg.BatchLinger,
			Metrics: src.Metrics, Logger: p.logger, DeadLetters: src.DeadLetters,
		}, h)
		if err != nil {
			consumer.NewSet(cs...).Close()
			return nil, fmt.Errorf("consumer of projection %s: %w", n, err)
		}
		cs = append(cs, c)
	}
	return consumer.NewSet(cs...), nil
}

// handleBatch projects a batch (of one or several partitions) in one mget
// and one bulk request, and fails with the first failure among its
// streams.
func (p *Projector) handleBatch(n Name) consumer.Handler {
	return func(ctx context.Context, batch []consumer.Message) error {
		events := make([]documents.Event, 0, len(batch))
		for _, m := range batch {
			e, err := EventFromMessage(m.Message)
			if err != nil {
				// A record the projector cannot place can never be
				// applied: a permanent error, which the consumer loop
				// isolates and dead-letters (its stream's later events
				// park behind it until an operator replays or discards
				// it; the event after it then heals the gap from the
				// event store).
				return deadletter.Permanentf("projection %s: event at partition %d offset %d: %w", n, m.Partition, m.Offset, err)
			}
			events = append(events, e)
		}
		if len(events) == 0 {
			return nil
		}
		spans := projectSpans(ctx, n, batch)
		start := time.Now()
		err := p.project(ctx, n, events)
		for _, span := range spans {
			tracing.End(span, err)
		}
		if err != nil && p.cfg.Breaker != nil && p.cfg.Breaker.FailedSince(start) {
			// Elasticsearch failed meanwhile: pause, do not park.
			return deadletter.UnavailableError(err)
		}
		return err
	}
}

// projectSpans starts, when tracing is on, a span per message in the trace
// its headers carry, if any: the projection is the last hop of an order's
// trace.
func projectSpans(ctx context.Context, n Name, batch []consumer.Message) []trace.Span {
	if !tracing.Enabled() {
		return nil
	}
	var spans []trace.Span
	for _, m := range batch {
		if m.Metadata.Get(tracing.HeaderTraceParent) == "" {
			continue // recorded while tracing was off: no trace to continue
		}
		_, span := tracing.Start(ctx, m.Metadata, "project "+string(n)+" "+m.Metadata.Get(messages.HeaderEventType), trace.SpanKindConsumer,
			attribute.String("orderflow.stream_id", m.Key))
		spans = append(spans, span)
	}
	return spans
}

// project applies events and returns the first failure among their
// streams.
func (p *Projector) project(ctx context.Context, n Name, events []documents.Event) error {
	out, err := p.apply(ctx, n, events)
	if err != nil {
		return err
	}
	for _, e := range events {
		if err := out.failed[e.StreamID]; err != nil {
			return err
		}
	}
	return nil
}
