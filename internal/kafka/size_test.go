package kafka_test

import (
	"context"
	"crypto/rand"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// largestRecord is the Kafka record of an event of messages.MaxEventBytes
// with every envelope header at its longest, as the relay sends it.
// Random bytes do not compress, the worst case for the batch's size.
func largestRecord(t *testing.T, topic string) *sarama.ProducerMessage {
	t.Helper()
	payload := make([]byte, messages.MaxEventBytes)
	_, err := rand.Read(payload)
	require.NoError(t, err)
	streamID := uuid.NewString()
	h := messages.Envelope{
		EventID: uuid.NewString(), EventType: "ordering.OrderCancellationRequested", StreamID: streamID, StreamType: "Product",
		Version: 1<<31 - 1, Position: 1<<63 - 1, CorrelationID: uuid.NewString(), CausationID: uuid.NewString(),
		OccurredAt: time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}.Headers()
	h[kafka.PartitionKeyHeader] = streamID
	var headers []sarama.RecordHeader
	for k, v := range h {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	return &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(streamID), Value: sarama.ByteEncoder(payload), Headers: headers}
}

// The broker, the topics and the producers take their limits from
// messages.MaxMessageBytes, and an event the event store accepts fits all
// of them.
func TestSizeLimitsAgree(t *testing.T) {
	t.Parallel()

	for file, setting := range map[string]*regexp.Regexp{
		"../../deploy/local/deps":           regexp.MustCompile(`(?m)^\s*message\.max\.bytes=(.*)$`),
		"../../deploy/compose/compose.yaml": regexp.MustCompile(`(?m)^\s*KAFKA_MESSAGE_MAX_BYTES:\s*(.*)$`),
	} {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		found := setting.FindAllStringSubmatch(string(raw), -1)
		require.Len(t, found, 1, "%s sets the broker's limit once", file)
		require.Equal(t, strconv.Itoa(messages.MaxMessageBytes), found[0][1], file)
	}

	cfg := kafka.SaramaConfig("test")
	require.Equal(t, kafka.ProducerMaxMessageBytes, cfg.Producer.MaxMessageBytes)
	require.NoError(t, cfg.Validate())

	size := largestRecord(t, "t").ByteSize(2)
	require.LessOrEqual(t, size, kafka.ProducerMaxMessageBytes, "the producer takes the largest event")
	// What the broker receives: the batch's framing (61 bytes) around
	// records Sarama packs up to its limit, grown by LZ4 on data that does
	// not compress (by 1/255 plus a frame header).
	const batchOverhead, lz4Frame = 61, 64
	worst := kafka.ProducerMaxMessageBytes + kafka.ProducerMaxMessageBytes/255 + lz4Frame + batchOverhead
	require.LessOrEqual(t, worst, messages.MaxMessageBytes, "no batch a producer sends exceeds the broker's limit")
}

// Against the real broker: a topic made by EnsureTopics carries the limit,
// the largest event's record is published and consumed, and a record the
// producer's limit refuses is refused before it is sent.
func TestLargestEventCrossesRealKafka(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	brokers := env.Config.KafkaBrokers
	topic := env.Config.Topic("largest-event")
	require.NoError(t, kafka.EnsureTopics(brokers, 1, topic))

	admin, err := sarama.NewClusterAdmin(brokers, kafka.SaramaConfig("test"))
	require.NoError(t, err)
	defer admin.Close()
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{kafka.TopicMaxMessageBytesConfig}})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, strconv.Itoa(messages.MaxMessageBytes), entries[0].Value)

	producer, err := sarama.NewSyncProducer(brokers, kafka.SaramaConfig("test"))
	require.NoError(t, err)
	defer producer.Close()
	record := largestRecord(t, topic)
	_, _, err = producer.SendMessage(record)
	require.NoError(t, err, "the largest event is published")

	tooLarge := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.ByteEncoder(make([]byte, kafka.ProducerMaxMessageBytes))}
	_, _, err = producer.SendMessage(tooLarge)
	require.ErrorContains(t, err, "Producer.MaxMessageBytes")

	sub, err := kafka.NewSubscriber(brokers, env.Config.ConsumerGroup("largest-event"), "test", watermill.NewSlogLogger(env.Logger))
	require.NoError(t, err)
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, topic)
	require.NoError(t, err)
	select {
	case m := <-msgs:
		want, err := record.Value.Encode()
		require.NoError(t, err)
		require.Equal(t, want, []byte(m.Payload), "the largest event is consumed whole")
		m.Ack()
	case <-ctx.Done():
		t.Fatalf("the largest event was not consumed: %v", ctx.Err())
	}
}
