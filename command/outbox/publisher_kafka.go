package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// Publisher sends one batch of events to a topic, all or nothing as far as
// the caller knows: on error the relay publishes the batch again. A
// *RefusedError says the broker will never accept some of the events; the
// relay then blocks their streams (see Relay) and publishes the rest.
type Publisher interface {
	Publish(ctx context.Context, topic string, events []eventstore.Record) error
}

// RefusedError reports events the broker refuses for good: publishing them
// again cannot succeed until an operator changes something (a size limit,
// the topic's configuration). The batch's other events may or may not have
// been published.
type RefusedError struct {
	Refusals []Refusal
}

// Refusal is one event refused for good.
type Refusal struct {
	EventID uuid.UUID
	// Size is the event's record size in bytes, as the producer counts it
	// against Producer.MaxMessageBytes.
	Size int
	Err  error
}

func (e *RefusedError) Error() string {
	if len(e.Refusals) == 0 {
		return "events refused by the broker"
	}
	f := e.Refusals[0]
	return fmt.Sprintf("%d events refused by the broker for good, first %s (%d bytes): %v", len(e.Refusals), f.EventID, f.Size, f.Err)
}

// refusedFor reports the refusal of event id, if e has one.
func (e *RefusedError) refusedFor(id uuid.UUID) (Refusal, bool) {
	for _, r := range e.Refusals {
		if r.EventID == id {
			return r, true
		}
	}
	return Refusal{}, false
}

// ErrRecordTooLarge is the refusal of an event whose record exceeds the
// producer's Producer.MaxMessageBytes; nothing of its batch is sent.
var ErrRecordTooLarge = errors.New("record larger than the producer's Producer.MaxMessageBytes")

// recordVersion is the Kafka record format the producer writes (v2, since
// Kafka 0.11), which sizes a record the way Sarama's own check does.
const recordVersion = 2

// permanent reports a per-record produce error the broker will answer the
// same way every time. Everything else (leader moved, broker down,
// timeouts, CORRUPT_MESSAGE, which Kafka marks retriable because a record
// can be damaged in transit) is retried.
func permanent(err error) bool {
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		return false
	}
	switch kerr {
	case sarama.ErrMessageSizeTooLarge, // MESSAGE_TOO_LARGE: beyond the broker's or topic's max.message.bytes
		sarama.ErrMessageSetSizeTooLarge, // RECORD_LIST_TOO_LARGE
		sarama.ErrInvalidRecord,          // INVALID_RECORD: fails the broker's validation (e.g. no key on a compacted topic)
		sarama.ErrInvalidTimestamp:       // INVALID_TIMESTAMP: outside the topic's allowed timestamp range
		return true
	}
	return false
}

// KafkaPublisher publishes with one Sarama SyncProducer built on
// kafka.SaramaConfig: idempotent, acks from all in-sync replicas and one
// request in flight per broker, so retries inside Sarama neither duplicate
// nor reorder the records of a partition. Each batch is a single
// SendMessages call, which Sarama turns into as few produce requests as the
// partitions allow, rather than a round trip per event.
//
// The producer is created on first use and dropped after a failed batch, so
// a broker that is down at start or loses the producer's state costs
// retries, not a restart.
//
// Refusals: an event whose record exceeds the producer's MaxMessageBytes is
// refused before anything of its batch is sent (Sarama would refuse just
// that record and send the stream's later ones, out of order). A batch whose
// failed records all carry a permanent Kafka error (see permanent) is a
// *RefusedError too; any other failure is transient.
type KafkaPublisher struct {
	brokers  []string
	clientID string
	// maxRecordBytes is the producer's Producer.MaxMessageBytes.
	maxRecordBytes int

	mu       sync.Mutex
	producer sarama.SyncProducer
}

// NewKafkaPublisher returns a publisher to brokers; it connects lazily.
func NewKafkaPublisher(brokers []string, clientID string) *KafkaPublisher {
	return &KafkaPublisher{brokers: brokers, clientID: clientID, maxRecordBytes: kafka.SaramaConfig(clientID).Producer.MaxMessageBytes}
}

// Publish sends events to topic, keyed by stream id, with the headers of
// messages.Envelope. It returns when every record is acknowledged or
// failed; ctx is only checked before sending, because Sarama cannot take
// back records it has accepted.
func (p *KafkaPublisher) Publish(ctx context.Context, topic string, events []eventstore.Record) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	msgs := make([]*sarama.ProducerMessage, len(events))
	var tooLarge []Refusal
	for i, e := range events {
		msgs[i] = producerMessage(topic, e)
		if size := msgs[i].ByteSize(recordVersion); size > p.maxRecordBytes {
			tooLarge = append(tooLarge, Refusal{EventID: e.EventID, Size: size,
				Err: fmt.Errorf("%w: %d > %d bytes", ErrRecordTooLarge, size, p.maxRecordBytes)})
		}
	}
	if len(tooLarge) > 0 {
		return &RefusedError{Refusals: tooLarge}
	}
	spans := publishSpans(ctx, events, msgs)
	err := p.send(msgs, events, topic)
	for _, span := range spans {
		tracing.End(span, err)
	}
	return err
}

// publishSpans starts, when tracing is on, a span per event in the trace
// its metadata names and makes the record's traceparent that span's, so
// the consumers' spans follow the outbox hop.
func publishSpans(ctx context.Context, events []eventstore.Record, msgs []*sarama.ProducerMessage) []trace.Span {
	if !tracing.Enabled() {
		return nil
	}
	var spans []trace.Span
	for i, e := range events {
		parent := tracing.Headers(e.Metadata)
		if parent == nil {
			continue
		}
		sctx, span := tracing.Start(ctx, parent, "outbox.publish "+e.EventType, trace.SpanKindProducer,
			attribute.String("orderflow.stream_id", e.StreamID), attribute.Int("orderflow.version", e.Version))
		spans = append(spans, span)
		headers := msgs[i].Headers[:0:0]
		for _, h := range msgs[i].Headers {
			if k := string(h.Key); k != tracing.HeaderTraceParent && k != tracing.HeaderTraceState {
				headers = append(headers, h)
			}
		}
		for k, v := range tracing.Headers(tracing.Carry(sctx)) {
			headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
		msgs[i].Headers = headers
	}
	return spans
}

// send sends a batch's records, reconnecting after a failure.
func (p *KafkaPublisher) send(msgs []*sarama.ProducerMessage, events []eventstore.Record, topic string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.producer == nil {
		producer, err := sarama.NewSyncProducer(p.brokers, kafka.SaramaConfig(p.clientID))
		if err != nil {
			return fmt.Errorf("connect kafka producer: %w", err)
		}
		p.producer = producer
	}
	if err := p.producer.SendMessages(msgs); err != nil {
		// A new producer starts with fresh sequence numbers, which a
		// partially refused batch may have left out of step.
		_ = p.producer.Close()
		p.producer = nil
		if refused := refusals(err, events, msgs); refused != nil {
			return refused
		}
		return fmt.Errorf("publish %d events to %s: %w", len(events), topic, summarize(err))
	}
	return nil
}

// refusals returns a *RefusedError when every record that failed failed
// for good, else nil (retry the batch).
func refusals(err error, events []eventstore.Record, msgs []*sarama.ProducerMessage) *RefusedError {
	var perRecord sarama.ProducerErrors
	if !errors.As(err, &perRecord) || len(perRecord) == 0 {
		return nil
	}
	index := make(map[*sarama.ProducerMessage]int, len(msgs))
	for i, m := range msgs {
		index[m] = i
	}
	refused := &RefusedError{}
	for _, pe := range perRecord {
		i, ok := index[pe.Msg]
		if !ok || !permanent(pe.Err) {
			return nil
		}
		refused.Refusals = append(refused.Refusals, Refusal{EventID: events[i].EventID, Size: msgs[i].ByteSize(recordVersion), Err: pe.Err})
	}
	return refused
}

// Close closes the producer, if one is open.
func (p *KafkaPublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.producer == nil {
		return nil
	}
	err := p.producer.Close()
	p.producer = nil
	if err != nil {
		return fmt.Errorf("close kafka producer: %w", err)
	}
	return nil
}

// producerMessage is the Kafka record of one event: key = stream id, value =
// the JSON payload, headers = the envelope plus the partition key header
// that watermill's marshaler keys by (so a consumer can re-publish the
// message unchanged, e.g. from the dead-letter store).
func producerMessage(topic string, e eventstore.Record) *sarama.ProducerMessage {
	env := messages.Envelope{
		EventID:       e.EventID.String(),
		EventType:     e.EventType,
		StreamID:      e.StreamID,
		StreamType:    e.StreamType,
		Version:       e.Version,
		Position:      e.Position,
		CorrelationID: e.CorrelationID,
		CausationID:   e.CausationID,
		OccurredAt:    e.CreatedAt,
	}
	h := env.Headers()
	h[kafka.PartitionKeyHeader] = e.StreamID
	// The trace the event was recorded in, if tracing was on.
	for k, v := range tracing.Headers(e.Metadata) {
		h[k] = v
	}
	headers := make([]sarama.RecordHeader, 0, len(h))
	for k, v := range h {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	return &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.StringEncoder(e.StreamID),
		Value:     sarama.ByteEncoder(e.Data),
		Headers:   headers,
		Timestamp: e.CreatedAt,
	}
}

// summarize keeps the error of a failed batch readable: Sarama reports one
// error per record, usually all the same.
func summarize(err error) error {
	var perRecord sarama.ProducerErrors
	if !errors.As(err, &perRecord) || len(perRecord) == 0 {
		return err
	}
	return fmt.Errorf("%d records failed, first: %w", len(perRecord), perRecord[0].Err)
}
