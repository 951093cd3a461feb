package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/messages"
)

// Publisher sends one batch of events to a topic, all or nothing as far as
// the caller knows: on error the relay publishes the whole batch again.
type Publisher interface {
	Publish(ctx context.Context, topic string, events []eventstore.Record) error
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
type KafkaPublisher struct {
	brokers  []string
	clientID string

	mu       sync.Mutex
	producer sarama.SyncProducer
}

// NewKafkaPublisher returns a publisher to brokers; it connects lazily.
func NewKafkaPublisher(brokers []string, clientID string) *KafkaPublisher {
	return &KafkaPublisher{brokers: brokers, clientID: clientID}
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.producer == nil {
		producer, err := sarama.NewSyncProducer(p.brokers, kafka.SaramaConfig(p.clientID))
		if err != nil {
			return fmt.Errorf("connect kafka producer: %w", err)
		}
		p.producer = producer
	}
	msgs := make([]*sarama.ProducerMessage, len(events))
	for i, e := range events {
		msgs[i] = producerMessage(topic, e)
	}
	if err := p.producer.SendMessages(msgs); err != nil {
		_ = p.producer.Close()
		p.producer = nil
		return fmt.Errorf("publish %d events to %s: %w", len(events), topic, summarize(err))
	}
	return nil
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
