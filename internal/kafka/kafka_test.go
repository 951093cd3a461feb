package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
)

// A consumer group that joins after the messages were published still gets
// all of them (it starts at the oldest offset), in order per partition key,
// through a real broker; a second consumer of the same group after a commit
// gets nothing again.
func TestConsumerGroupRoundTripOnRealKafka(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	cfg := env.Config
	topic := cfg.Topic("roundtrip")
	require.NoError(t, kafka.EnsureTopics(cfg.KafkaBrokers, 4, topic))
	logger := watermill.NewSlogLogger(env.Logger)

	pub, err := kafka.NewPublisher(cfg.KafkaBrokers, "test", logger)
	require.NoError(t, err)
	defer pub.Close()
	const n = 20
	for i := range n {
		msg := message.NewMessage(watermill.NewUUID(), []byte{byte(i)})
		msg.Metadata.Set(kafka.PartitionKeyHeader, "order-1")
		require.NoError(t, pub.Publish(topic, msg))
	}

	group := cfg.ConsumerGroup("roundtrip")
	consume := func(want int, committedAfter int64) []byte {
		sub, err := kafka.NewSubscriber(cfg.KafkaBrokers, group, "test", logger)
		require.NoError(t, err)
		defer sub.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		msgs, err := sub.Subscribe(ctx, topic)
		require.NoError(t, err)
		var got []byte
		timeout := time.After(60 * time.Second)
		for len(got) < want {
			select {
			case m := <-msgs:
				got = append(got, m.Payload...)
				m.Ack()
			case <-timeout:
				t.Fatalf("received %d of %d messages", len(got), want)
			}
		}
		// Acks are committed asynchronously: wait until the broker has them
		// before this member leaves.
		require.Eventually(t, func() bool { return committed(t, cfg.KafkaBrokers, group, topic) == committedAfter },
			30*time.Second, 50*time.Millisecond)
		return got
	}
	got := consume(n, n)
	for i := range n {
		require.Equal(t, byte(i), got[i], "messages of one key arrive in order")
	}

	// Offsets were committed: a new member of the same group resumes after
	// them and only sees a fresh message.
	msg := message.NewMessage(watermill.NewUUID(), []byte{99})
	msg.Metadata.Set(kafka.PartitionKeyHeader, "order-1")
	require.NoError(t, pub.Publish(topic, msg))
	require.Equal(t, []byte{99}, consume(1, n+1))
}

// committed sums the group's committed offsets over the topic's partitions.
func committed(t *testing.T, brokers []string, group, topic string) int64 {
	admin, err := sarama.NewClusterAdmin(brokers, kafka.SaramaConfig("test"))
	require.NoError(t, err)
	defer admin.Close()
	res, err := admin.ListConsumerGroupOffsets(group, nil)
	require.NoError(t, err)
	var sum int64
	for _, block := range res.Blocks[topic] {
		if block.Offset > 0 {
			sum += block.Offset
		}
	}
	return sum
}

func TestPingFailsWithoutBroker(t *testing.T) {
	t.Parallel()
	require.Error(t, kafka.Ping([]string{"127.0.0.1:1"}))
}
